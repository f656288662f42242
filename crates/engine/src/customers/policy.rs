//! The conflict policy: which value each canonical unit (a mapped field, or a whole address)
//! should hold after a sync, judged against the snapshot the link keeps of what was last synced.
//!
//! Both flows call [`reconcile`] the same way, with the source's doc, the far record's doc and
//! the snapshot; per unit, with `s` the source value, `t` the far (target) value and `p` the
//! snapshot:
//!
//! | situation | owner = source | owner = target | `latest` | `manual` |
//! |---|---|---|---|---|
//! | `s == t` | nothing to do | | | |
//! | no snapshot (first sync of a matched pair, or an old link) | write `s` | keep `t` | write `s` | write `s` |
//! | only `s` changed | write `s` | keep `t` | write `s` | write `s` |
//! | only `t` changed | write `s` | keep `t` | keep `t` | keep `t` |
//! | both changed (conflict) | write `s` | keep `t` | newer side | park |
//!
//! "Keep `t`" means the flow does not write the unit; the other side still holds `s`. The new
//! snapshot then records `s` for that unit, so the reverse flow sees a one-sided change on its
//! source (`t`) and carries it over without a second conflict; "write `s`" records `s` too. A
//! parked record gets no writes and no new snapshot. A unit whose far record does not exist yet
//! is always written: there is nothing to protect.
//!
//! `latest` compares Salesforce `SystemModstamp` with NetSuite `lastModifiedDate` truncated to
//! whole seconds (NetSuite's precision); a tie, or a timestamp that cannot be read, goes to the
//! source side (the change that triggered this sync).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::doc::{Address, CustomerDoc};
use super::plan::Target;
use crate::config::{CustomersConfig, Ownership};

/// Canonical unit values (`None`: empty), by unit name.
pub type Units = BTreeMap<String, Option<String>>;

/// What the source and the far side look like to a flow.
pub struct Sides<'a> {
    /// The side the flow writes.
    pub target: Target,
    pub source: &'a CustomerDoc,
    /// The far record; `None` when it does not exist yet.
    pub far: Option<&'a CustomerDoc>,
    /// The link's snapshot; `None` when there is no link or it predates snapshots.
    pub snapshot: Option<&'a Units>,
    /// Source timestamps (Salesforce `SystemModstamp`, NetSuite `lastModifiedDate`).
    pub source_stamp: Option<String>,
    pub far_stamp: Option<String>,
}

/// A unit changed on both sides since the last sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitConflict {
    pub unit: String,
    pub source_value: Option<String>,
    pub far_value: Option<String>,
    pub last_synced: Option<String>,
    pub policy: Ownership,
    /// The side whose value won; `None` when parked (`manual`).
    pub winner: Option<Target>,
}

/// The outcome of the policy for one sync.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// What the target should hold: the source doc with the kept units set to the far values.
    pub desired: CustomerDoc,
    /// Units the target keeps although they differ from the source (not written).
    pub kept: BTreeSet<String>,
    /// The link's snapshot after the write.
    pub snapshot: Units,
    pub conflicts: Vec<UnitConflict>,
}

impl Reconciled {
    /// A `manual` conflict: the record must be parked and nothing written.
    pub fn is_parked(&self) -> bool {
        self.conflicts.iter().any(|c| c.winner.is_none())
    }

    /// The two sides still differ after the write (the reverse flow has work left).
    pub fn diverged(&self) -> bool {
        !self.kept.is_empty()
    }
}

/// Applies the policy of every unit (see the module doc).
pub fn reconcile(config: &CustomersConfig, sides: &Sides<'_>) -> Reconciled {
    let source_units = units(config, sides.source);
    let mut desired = sides.source.clone();
    let mut kept = BTreeSet::new();
    let mut conflicts = Vec::new();
    let Some(far) = sides.far else {
        return Reconciled {
            desired,
            kept,
            snapshot: source_units,
            conflicts,
        };
    };
    let far_units = units(config, far);
    let source_side = sides.target.other();
    for (unit, s) in &source_units {
        let t = far_units.get(unit).cloned().flatten();
        if *s == t {
            continue;
        }
        let policy = config.ownership_of(unit);
        let owner = match policy {
            Ownership::Salesforce => Some(Target::Salesforce),
            Ownership::Netsuite => Some(Target::NetSuite),
            Ownership::Latest | Ownership::Manual => None,
        };
        let p = sides.snapshot.map(|snap| snap.get(unit).cloned().flatten());
        let keep = match (&p, owner) {
            (_, Some(owner)) => owner == sides.target,
            (None, None) => false,
            (Some(p), None) => match (s != p, t != *p) {
                (true, true) => {
                    let winner = match policy {
                        Ownership::Latest => Some(latest(sides, source_side)),
                        _ => None,
                    };
                    conflicts.push(UnitConflict {
                        unit: unit.clone(),
                        source_value: s.clone(),
                        far_value: t.clone(),
                        last_synced: p.clone(),
                        policy,
                        winner,
                    });
                    winner == Some(sides.target)
                }
                (false, true) => true,
                _ => false,
            },
        };
        // An owned unit changed on both sides is a conflict the owner wins: log it too.
        if let (Some(p), Some(owner)) = (&p, owner) {
            if s != p && t != *p {
                conflicts.push(UnitConflict {
                    unit: unit.clone(),
                    source_value: s.clone(),
                    far_value: t.clone(),
                    last_synced: p.clone(),
                    policy,
                    winner: Some(owner),
                });
            }
        }
        if keep {
            set_unit(&mut desired, unit, &t);
            kept.insert(unit.clone());
        }
    }
    Reconciled {
        desired,
        kept,
        snapshot: source_units,
        conflicts,
    }
}

/// The side changed last; ties and unreadable timestamps go to `source`.
fn latest(sides: &Sides<'_>, source: Target) -> Target {
    let seconds = |stamp: Option<&str>| stamp.and_then(parse_stamp).map(|t| t.timestamp());
    match (
        seconds(sides.source_stamp.as_deref()),
        seconds(sides.far_stamp.as_deref()),
    ) {
        (Some(s), Some(f)) if f > s => sides.target,
        _ => source,
    }
}

/// A vendor timestamp: RFC 3339 (NetSuite, `…Z`) or Salesforce's `…+0000`.
pub fn parse_stamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Every canonical unit of a doc: mapped fields as they are, addresses as canonical JSON.
pub fn units(config: &CustomersConfig, doc: &CustomerDoc) -> Units {
    let mut units: Units = config
        .fields
        .keys()
        .map(|name| (name.clone(), doc.fields.get(name).cloned().flatten()))
        .collect();
    for (unit, address) in [("billing", &doc.billing), ("shipping", &doc.shipping)] {
        units.insert(unit.into(), address.as_ref().map(address_json));
    }
    units
}

fn address_json(address: &Address) -> String {
    serde_json::to_string(address).unwrap_or_default()
}

/// An address unit's value as an address; `Err` says why it is not one.
pub fn parse_address(value: &str) -> Result<Option<Address>, String> {
    serde_json::from_str::<Address>(value)
        .map(Address::non_empty)
        .map_err(|e| format!("not an address object ({e})"))
}

/// Sets one unit of `doc` (an address unit's value must come from [`units`] or be checked with
/// [`parse_address`] first; one that does not parse clears the address).
pub fn set_unit(doc: &mut CustomerDoc, unit: &str, value: &Option<String>) {
    let address = || {
        value
            .as_deref()
            .and_then(|v| parse_address(v).ok().flatten())
    };
    match unit {
        "billing" => doc.billing = address(),
        "shipping" => doc.shipping = address(),
        _ => {
            doc.fields.insert(unit.to_string(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests;
