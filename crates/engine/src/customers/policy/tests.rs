use super::*;
use crate::config::Config;

fn config(ownership: &[(&str, Ownership)]) -> CustomersConfig {
    let mut config = Config::load_from(None, Vec::new()).unwrap().customers;
    for (unit, policy) in ownership {
        config.ownership.insert(unit.to_string(), *policy);
    }
    config
}

fn doc(name: &str) -> CustomerDoc {
    let mut doc = CustomerDoc::default();
    doc.fields.insert("name".into(), Some(name.into()));
    doc
}

fn snapshot(config: &CustomersConfig, name: &str) -> Units {
    units(config, &doc(name))
}

/// Account → customer (target NetSuite) with Salesforce at 10:00:05 and NetSuite at `ns_stamp`.
fn to_netsuite<'a>(
    source: &'a CustomerDoc,
    far: &'a CustomerDoc,
    snapshot: Option<&'a Units>,
    ns_stamp: &'a str,
) -> Sides<'a> {
    Sides {
        target: Target::NetSuite,
        source,
        far: Some(far),
        snapshot,
        source_stamp: Some("2026-11-28T10:00:05.000+0000".into()),
        far_stamp: Some(ns_stamp.into()),
    }
}

fn name(doc: &CustomerDoc) -> Option<&str> {
    doc.fields.get("name").and_then(|v| v.as_deref())
}

#[test]
fn a_change_on_the_source_only_is_written() {
    let config = config(&[]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme SF"), doc("Acme"));
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
    );
    assert_eq!(name(&r.desired), Some("Acme SF"));
    assert!(r.conflicts.is_empty() && !r.diverged());
    assert_eq!(r.snapshot["name"].as_deref(), Some("Acme SF"));
}

#[test]
fn a_change_on_the_far_side_only_is_kept_and_left_to_the_reverse_flow() {
    let config = config(&[]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme"), doc("Acme NS"));
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
    );
    assert_eq!(name(&r.desired), Some("Acme NS"), "not reverted");
    assert!(r.diverged() && r.conflicts.is_empty());
    assert_eq!(r.snapshot["name"].as_deref(), Some("Acme"));
}

#[test]
fn a_field_the_target_owns_is_never_written_to_it() {
    let config = config(&[("name", Ownership::Netsuite)]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme SF"), doc("Acme"));
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
    );
    assert_eq!(name(&r.desired), Some("Acme"));
    assert!(r.kept.contains("name") && r.conflicts.is_empty());
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, None, "2026-11-28T10:00:00Z"),
    );
    assert_eq!(name(&r.desired), Some("Acme"), "nor without a snapshot");
}

#[test]
fn a_field_the_source_owns_overwrites_a_far_side_edit() {
    let config = config(&[("name", Ownership::Salesforce)]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme"), doc("Acme NS"));
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
    );
    assert_eq!(name(&r.desired), Some("Acme"));
    assert!(!r.diverged());
}

#[test]
fn an_owner_wins_a_conflict_and_the_conflict_is_reported() {
    let (sf, ns) = (doc("Acme SF"), doc("Acme NS"));
    for (policy, winner, wanted) in [
        (Ownership::Salesforce, Target::Salesforce, "Acme SF"),
        (Ownership::Netsuite, Target::NetSuite, "Acme NS"),
    ] {
        let config = config(&[("name", policy)]);
        let snap = snapshot(&config, "Acme");
        let r = reconcile(
            &config,
            &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
        );
        assert_eq!(name(&r.desired), Some(wanted));
        assert_eq!(r.conflicts.len(), 1);
        let c = &r.conflicts[0];
        assert_eq!((c.winner, c.policy), (Some(winner), policy));
        assert_eq!(c.last_synced.as_deref(), Some("Acme"));
        assert!(!r.is_parked());
    }
}

#[test]
fn latest_gives_a_conflict_to_the_side_changed_last_to_the_second() {
    let config = config(&[]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme SF"), doc("Acme NS"));
    let later = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:06Z"),
    );
    assert_eq!(name(&later.desired), Some("Acme NS"));
    assert_eq!(later.conflicts[0].winner, Some(Target::NetSuite));
    let earlier = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:04Z"),
    );
    assert_eq!(name(&earlier.desired), Some("Acme SF"));
    let tie = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:05Z"),
    );
    assert_eq!(
        tie.conflicts[0].winner,
        Some(Target::Salesforce),
        "a tie: the source"
    );
}

#[test]
fn manual_parks_the_record() {
    let config = config(&[("name", Ownership::Manual)]);
    let snap = snapshot(&config, "Acme");
    let (sf, ns) = (doc("Acme SF"), doc("Acme NS"));
    let r = reconcile(
        &config,
        &to_netsuite(&sf, &ns, Some(&snap), "2026-11-28T10:00:00Z"),
    );
    assert!(r.is_parked());
    assert_eq!(r.conflicts[0].winner, None);
    assert_eq!(r.conflicts[0].far_value.as_deref(), Some("Acme NS"));
}

#[test]
fn a_new_far_record_gets_every_unit() {
    let config = config(&[("name", Ownership::Netsuite)]);
    let sf = doc("Acme SF");
    let sides = Sides {
        far: None,
        ..to_netsuite(&sf, &sf, None, "")
    };
    let r = reconcile(&config, &sides);
    assert_eq!(name(&r.desired), Some("Acme SF"));
    assert!(!r.diverged());
}

#[test]
fn an_address_is_one_unit_that_round_trips_through_its_json() {
    let config = config(&[]);
    let mut source = doc("Acme");
    source.billing = Some(Address {
        city: Some("Paris".into()),
        country: Some("FR".into()),
        ..Default::default()
    });
    let units = units(&config, &source);
    let mut copy = doc("Acme");
    set_unit(&mut copy, "billing", &units["billing"]);
    assert_eq!(copy.billing, source.billing);
    assert_eq!(units["shipping"], None);
    assert!(parse_address("{\"town\":\"Paris\"}").is_err());
}

#[test]
fn both_vendor_timestamp_formats_parse() {
    let sf = parse_stamp("2026-11-28T10:00:05.000+0000").unwrap();
    let ns = parse_stamp("2026-11-28T10:00:05Z").unwrap();
    assert_eq!(sf, ns);
    assert!(parse_stamp("yesterday").is_none());
}
