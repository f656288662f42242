//! Fault injection: rules that make matching API calls fail the way real vendors fail.
//!
//! A rule names calls by the same `"METHOD /route-pattern"` keys as the call counters
//! ([`crate::CallCounts`]); the method may be `*`, the pattern may end in `*` (a prefix), and `*`
//! alone matches every call. A rule fires with probability `rate` (default 1) and, when `times` is
//! set, at most that many times: `rate 1, times N` is the deterministic "the next N calls fail".
//! Rules are tried in the order they were added; the first that fires decides. Random draws come
//! from a generator with a fixed seed, so a test that makes the same calls sees the same faults.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an injected fault does to a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer at once with `status` and `body` instead of running the call. Defaults: 503 with the
    /// system's own error body (NetSuite's `o:errorDetails` object, Salesforce's error array).
    Error {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        body: Option<Value>,
    },
    /// Hold the request for `hold_ms` milliseconds, then close the connection without an answer.
    Timeout { hold_ms: u64 },
    /// Close the connection at once without an answer.
    DropConnection,
    /// Run the call, so whatever it writes is committed, then lose its answer: the way a write
    /// is duplicated in real integrations when the client retries what already happened. With
    /// `status` (502 or 504, say) a proxy answers that status instead; with `hold_ms` the
    /// connection hangs that long (past the client's deadline) and closes; with neither it is
    /// reset at once.
    LostAnswer {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        hold_ms: Option<u64>,
    },
}

impl FaultKind {
    /// Does the call run (and commit) before the fault answers?
    pub fn runs_the_call(&self) -> bool {
        matches!(self, FaultKind::LostAnswer { .. })
    }
}

/// A fault rule: which calls, what happens, how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// `"METHOD /route-pattern"`, `"METHOD /prefix*"`, `"* /route-pattern"` or `"*"`.
    pub route: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Probability (0..=1) that a matching call fails.
    #[serde(default = "always")]
    pub rate: f64,
    /// Fire at most this many times, then the rule is spent.
    #[serde(default)]
    pub times: Option<u64>,
    /// How many times the rule has fired (read back through `GET /__sandbox/faults`, so a test
    /// can tell which route met how many faults).
    #[serde(default)]
    pub fired: u64,
}

fn always() -> f64 {
    1.0
}

impl Fault {
    fn new(route: impl Into<String>, kind: FaultKind) -> Self {
        Self {
            route: route.into(),
            kind,
            rate: 1.0,
            times: None,
            fired: 0,
        }
    }

    /// Matching calls answer 503 with the system's error body.
    pub fn error(route: impl Into<String>) -> Self {
        Self::new(
            route,
            FaultKind::Error {
                status: None,
                body: None,
            },
        )
    }

    /// Matching calls answer `status` with `body` (`None`: the system's error body for `status`).
    pub fn error_with(route: impl Into<String>, status: u16, body: Option<Value>) -> Self {
        Self::new(
            route,
            FaultKind::Error {
                status: Some(status),
                body,
            },
        )
    }

    /// Matching calls hang for `hold`, then lose their connection.
    pub fn timeout(route: impl Into<String>, hold: Duration) -> Self {
        let hold_ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX);
        Self::new(route, FaultKind::Timeout { hold_ms })
    }

    /// Matching calls lose their connection at once.
    pub fn drop_connection(route: impl Into<String>) -> Self {
        Self::new(route, FaultKind::DropConnection)
    }

    /// Matching calls run and commit, then their connection is reset before the answer.
    pub fn lost_answer(route: impl Into<String>) -> Self {
        Self::new(
            route,
            FaultKind::LostAnswer {
                status: None,
                hold_ms: None,
            },
        )
    }

    /// Matching calls run and commit, then a proxy answers `status` (502, 504) instead.
    pub fn lost_answer_with_status(route: impl Into<String>, status: u16) -> Self {
        Self::new(
            route,
            FaultKind::LostAnswer {
                status: Some(status),
                hold_ms: None,
            },
        )
    }

    /// Matching calls run and commit, then hang for `hold` and lose their connection.
    pub fn lost_answer_after(route: impl Into<String>, hold: Duration) -> Self {
        let hold_ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX);
        Self::new(
            route,
            FaultKind::LostAnswer {
                status: None,
                hold_ms: Some(hold_ms),
            },
        )
    }

    /// Fails a matching call with probability `rate` (clamped to 0..=1).
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Fires at most `times` times.
    pub fn times(mut self, times: u64) -> Self {
        self.times = Some(times);
        self
    }
}

/// Does `rule` (a fault's `route`) name the call `method` + `pattern`?
pub fn route_matches(rule: &str, method: &str, pattern: &str) -> bool {
    let rule = rule.trim();
    if rule == "*" {
        return true;
    }
    let (rule_method, rule_path) = match rule.split_once(' ') {
        Some((m, p)) => (m, p.trim()),
        None if rule.starts_with('/') => ("*", rule),
        None => (rule, "*"),
    };
    let method_ok = rule_method == "*" || rule_method.eq_ignore_ascii_case(method);
    let path_ok = match rule_path.strip_suffix('*') {
        Some(prefix) => pattern.starts_with(prefix),
        None => pattern == rule_path,
    };
    method_ok && path_ok
}

/// The rules of one system.
pub struct FaultSet {
    rules: Mutex<Vec<Fault>>,
    rng: Mutex<StdRng>,
}

/// Seed of the draws that decide whether a rule with `rate < 1` fires.
const SEED: u64 = 0x15_7405;

impl Default for FaultSet {
    fn default() -> Self {
        Self {
            rules: Mutex::default(),
            rng: Mutex::new(StdRng::seed_from_u64(SEED)),
        }
    }
}

impl FaultSet {
    pub fn add(&self, fault: Fault) {
        self.lock_rules().push(fault);
    }

    pub fn clear(&self) {
        self.lock_rules().clear();
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = StdRng::seed_from_u64(SEED);
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock_rules().clone()
    }

    /// The fault this call meets, if any; spends one use of a rule with `times`.
    pub fn decide(&self, method: &str, pattern: &str) -> Option<FaultKind> {
        let mut rules = self.lock_rules();
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let index = rules.iter().position(|rule| {
            rule.times != Some(0)
                && route_matches(&rule.route, method, pattern)
                && (rule.rate >= 1.0 || rng.random::<f64>() < rule.rate)
        })?;
        let rule = &mut rules[index];
        let kind = rule.kind.clone();
        rule.fired += 1;
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(kind)
    }

    fn lock_rules(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_exactly_by_prefix_or_wildcard() {
        let key = ("POST", "/services/rest/record/v1/customer");
        let m = |rule| route_matches(rule, key.0, key.1);
        assert!(m("POST /services/rest/record/v1/customer"));
        assert!(m("post /services/rest/record/v1/customer"));
        assert!(m("* /services/rest/record/*"));
        assert!(m("/services/rest/*"));
        assert!(m("*"));
        assert!(m("POST"));
        assert!(!m("GET /services/rest/record/v1/customer"));
        assert!(!m("POST /services/rest/record/v1/customer/{id}"));
        assert!(!m("POST /services/rest/query/*"));
    }

    #[test]
    fn a_rule_with_times_fails_exactly_the_next_n_matching_calls() {
        let faults = FaultSet::default();
        faults.add(Fault::error("GET /a").times(2));
        assert!(faults.decide("GET", "/b").is_none());
        assert!(faults.decide("GET", "/a").is_some());
        assert_eq!(faults.list()[0].fired, 1);
        assert!(faults.decide("GET", "/a").is_some());
        assert!(faults.decide("GET", "/a").is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_rate_fails_about_that_share_of_calls_reproducibly() {
        let draw = || {
            let faults = FaultSet::default();
            faults.add(Fault::drop_connection("*").rate(0.25));
            (0..1000)
                .map(|_| faults.decide("GET", "/x").is_some())
                .collect::<Vec<_>>()
        };
        let first = draw();
        let failed = first.iter().filter(|f| **f).count();
        assert!((180..320).contains(&failed), "{failed} of 1000 failed");
        assert_eq!(first, draw());
    }

    #[test]
    fn faults_read_from_json_with_defaults() {
        let fault: Fault = serde_json::from_value(serde_json::json!({
            "route": "*", "kind": "timeout", "hold_ms": 50
        }))
        .unwrap();
        assert_eq!(fault, Fault::timeout("*", Duration::from_millis(50)));
        let fault: Fault = serde_json::from_value(serde_json::json!({
            "route": "GET /x", "kind": "error", "status": 500, "times": 1
        }))
        .unwrap();
        assert_eq!(fault, Fault::error_with("GET /x", 500, None).times(1));
        let fault: Fault = serde_json::from_value(serde_json::json!({
            "route": "PATCH /y", "kind": "lost_answer", "status": 504, "rate": 0.2
        }))
        .unwrap();
        assert_eq!(
            fault,
            Fault::lost_answer_with_status("PATCH /y", 504).rate(0.2)
        );
        assert!(fault.kind.runs_the_call());
    }
}
