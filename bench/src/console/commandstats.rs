//! What Redis did for one request: `INFO commandstats` read with `redis-cli` before and after,
//! as per-command deltas of calls and server microseconds. Commands a Lua script runs count
//! under their own names (an `EVALSHA` that reads 50 hashes shows 1 `evalsha` and 50 `hget`),
//! so a scan, or a range read over a whole index, shows by name or by its time.
//!
//! The counts are the server's, not the request's: anything else on the server in between
//! (the mesh's workers polling their queues) is in them too, which is why the bench also
//! reports an idle interval of the same kind.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{bail, Context};
use serde::Serialize;

/// Calls and microseconds per command, as `INFO commandstats` reports them.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<String, (u64, u64)>);

/// One command's share of an interval.
#[derive(Debug, Clone, Serialize)]
pub struct CommandDelta {
    pub command: String,
    pub calls: u64,
    pub usec: u64,
}

/// Reads `INFO commandstats` from the server at `url`.
pub fn snapshot(url: &str) -> anyhow::Result<Snapshot> {
    let out = Command::new("redis-cli")
        .args(["-u", url, "INFO", "commandstats"])
        .output()
        .context("running redis-cli (install redis-tools)")?;
    if !out.status.success() {
        bail!("redis-cli: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// `cmdstat_hget:calls=50,usec=61,usec_per_call=1.22,…` lines into a map.
fn parse(info: &str) -> Snapshot {
    let mut stats = BTreeMap::new();
    for line in info.lines() {
        let Some((name, fields)) = line.trim().split_once(':') else {
            continue;
        };
        let Some(command) = name.strip_prefix("cmdstat_") else {
            continue;
        };
        let field = |key: &str| {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        stats.insert(command.to_string(), (field("calls"), field("usec")));
    }
    Snapshot(stats)
}

/// What ran between `before` and `after`, most calls first; `info` (our own reads) left out.
pub fn delta(before: &Snapshot, after: &Snapshot) -> Vec<CommandDelta> {
    let mut found: Vec<CommandDelta> = after
        .0
        .iter()
        .filter(|(command, _)| command.as_str() != "info")
        .filter_map(|(command, (calls, usec))| {
            let (calls0, usec0) = before.0.get(command).copied().unwrap_or_default();
            let calls = calls.saturating_sub(calls0);
            (calls > 0).then(|| CommandDelta {
                command: command.clone(),
                calls,
                usec: usec.saturating_sub(usec0),
            })
        })
        .collect();
    found.sort_by(|a, b| b.calls.cmp(&a.calls).then(b.usec.cmp(&a.usec)));
    found
}

/// `hget 50 (61 µs), evalsha 1 (140 µs)`, the first `top` commands.
pub fn summary(deltas: &[CommandDelta], top: usize) -> String {
    if deltas.is_empty() {
        return "none".into();
    }
    let mut parts: Vec<String> = deltas
        .iter()
        .take(top)
        // `xinfo|groups` would split a Markdown table's cell.
        .map(|d| {
            format!(
                "{} {} ({} µs)",
                d.command.replace('|', " "),
                d.calls,
                d.usec
            )
        })
        .collect();
    if deltas.len() > top {
        parts.push(format!("+{} more", deltas.len() - top));
    }
    parts.join(", ")
}

/// Whether any command of the interval walks the keyspace.
pub fn scans(deltas: &[CommandDelta]) -> Vec<&str> {
    deltas
        .iter()
        .map(|d| d.command.as_str())
        .filter(|c| matches!(*c, "scan" | "keys" | "hscan" | "sscan" | "zscan"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_per_command_and_leave_info_out() {
        let before = parse("# Commandstats\r\ncmdstat_hget:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=1,usec=5,usec_per_call=5.00\r\n");
        let after = parse("cmdstat_hget:calls=60,usec=80,usec_per_call=1.33\r\ncmdstat_evalsha:calls=1,usec=140,usec_per_call=140.00\r\ncmdstat_info:calls=2,usec=9,usec_per_call=4.50\r\n");
        let d = delta(&before, &after);
        assert_eq!(summary(&d, 5), "hget 50 (60 µs), evalsha 1 (140 µs)");
    }
}
