//! The contract of the ID map, locks, idempotency records, semaphores and status values.

use isthmus_store::{IdMap, Idempotency, Lease, Link, Locks, Slots, StatusValues, StoreError};

use crate::{let_short_ttl_expire, LONG, SHORT};

pub fn link(salesforce_id: &str, netsuite_id: &str) -> Link {
    Link {
        kind: "customer".into(),
        salesforce_id: salesforce_id.into(),
        netsuite_id: netsuite_id.into(),
        salesforce_hash: format!("sf-hash-{salesforce_id}"),
        netsuite_hash: format!("ns-hash-{netsuite_id}"),
        salesforce_modstamp: "2024-05-01T10:00:00.000+0000".into(),
        netsuite_modstamp: String::new(),
        synced_at_ms: 1_714_557_600_000,
        fields: [
            ("name".to_owned(), Some(format!("Company {salesforce_id}"))),
            ("phone".to_owned(), None),
        ]
        .into(),
        parked: vec!["0123456789abcdef0123456789abcdef".into()],
    }
}

pub async fn lease(store: &(impl Locks + ?Sized), resource: &str) -> Lease {
    store.acquire(resource, LONG).await.unwrap().unwrap()
}

pub async fn link_round_trips_in_both_directions(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer:001A").await;
    let written = link("001A", "42");
    store.put_link(&written, &lease).await.unwrap();

    let by_sf = store.link_by_salesforce("customer", "001A").await.unwrap();
    let by_ns = store.link_by_netsuite("customer", "42").await.unwrap();
    assert_eq!(by_sf.as_ref(), Some(&written));
    assert_eq!(by_ns.as_ref(), Some(&written));
    assert_eq!(store.link_by_netsuite("vendor", "42").await.unwrap(), None);
}

pub async fn many_links_are_read_at_once_in_the_order_asked(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer").await;
    let (a, b) = (link("001A", "1"), link("001B", "2"));
    let item = Link {
        kind: "item".into(),
        ..link("001C", "3")
    };
    for written in [&a, &b, &item] {
        store.put_link(written, &lease).await.unwrap();
    }
    let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();

    let by_sf = store
        .links_by_salesforce_many("customer", &ids(&["001B", "001X", "001A", "001C", "001B"]))
        .await
        .unwrap();
    let by_ns = store
        .links_by_netsuite_many("customer", &ids(&["2", "9", "1", "3"]))
        .await
        .unwrap();
    let items = store
        .links_by_netsuite_many("item", &ids(&["3", "1"]))
        .await
        .unwrap();

    assert_eq!(
        by_sf,
        [
            Some(b.clone()),
            None,
            Some(a.clone()),
            None,
            Some(b.clone())
        ]
    );
    assert_eq!(by_ns, [Some(b), None, Some(a), None]);
    assert_eq!(items, [Some(item), None]);
    assert!(store
        .links_by_salesforce_many("customer", &[])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .links_by_netsuite_many("customer", &[])
        .await
        .unwrap()
        .is_empty());
}

pub async fn relinking_removes_the_old_reverse_entries(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer").await;
    store.put_link(&link("001A", "1"), &lease).await.unwrap();
    store.put_link(&link("001B", "2"), &lease).await.unwrap();

    // 001A moves to 2: NetSuite 1 loses its link, and so does 001B (it held 2).
    store.put_link(&link("001A", "2"), &lease).await.unwrap();

    assert_eq!(store.link_by_netsuite("customer", "1").await.unwrap(), None);
    assert_eq!(
        store.link_by_salesforce("customer", "001B").await.unwrap(),
        None
    );
    let moved = store.link_by_netsuite("customer", "2").await.unwrap();
    assert_eq!(moved.map(|l| l.salesforce_id), Some("001A".to_owned()));
}

pub async fn the_map_of_a_kind_is_walked_in_pages_of_salesforce_id_order(
    store: impl IdMap + Locks,
) {
    let lease = lease(&store, "customer").await;
    for (sf, ns) in [
        ("001D", "4"),
        ("001B", "2"),
        ("001A", "1"),
        ("001C", "3"),
        ("001E", "5"),
    ] {
        store.put_link(&link(sf, ns), &lease).await.unwrap();
    }
    let other_kind = Link {
        kind: "item".into(),
        ..link("001AA", "9")
    };
    store.put_link(&other_kind, &lease).await.unwrap();
    // Relinking and deleting keep the walk exact: 001E takes 001C's NetSuite id (001C drops
    // out), 001D is deleted.
    store.put_link(&link("001E", "3"), &lease).await.unwrap();
    store.delete_link("customer", "001D", &lease).await.unwrap();

    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .links_page("customer", after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.salesforce_id.clone());
        walked.extend(page.into_iter().map(|l| (l.salesforce_id, l.netsuite_id)));
    }
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        walked,
        pairs(&[("001A", "1"), ("001B", "2"), ("001E", "3")])
    );
    let items = store.links_page("item", None, 10).await.unwrap();
    assert_eq!(items, [other_kind]);
    assert!(store
        .links_page("customer", None, 0)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .links_page("vendor", None, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn indexing_links_is_idempotent_and_keeps_the_walk_whole(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer").await;
    for (sf, ns) in [("001B", "2"), ("001A", "1")] {
        store.put_link(&link(sf, ns), &lease).await.unwrap();
    }
    assert_eq!(store.index_links("customer").await.unwrap(), 2);
    assert_eq!(store.index_links("customer").await.unwrap(), 2);
    assert_eq!(store.index_links("vendor").await.unwrap(), 0);
    let walked: Vec<String> = store
        .links_page("customer", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.salesforce_id)
        .collect();
    assert_eq!(walked, ["001A", "001B"]);
}

pub async fn delete_link_removes_both_directions(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();

    store.delete_link("customer", "001A", &lease).await.unwrap();
    store.delete_link("customer", "001A", &lease).await.unwrap();

    assert_eq!(
        store.link_by_salesforce("customer", "001A").await.unwrap(),
        None
    );
    assert_eq!(
        store.link_by_netsuite("customer", "42").await.unwrap(),
        None
    );
}

pub async fn writes_with_a_stale_lease_are_refused_and_write_nothing(store: impl IdMap + Locks) {
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();
    assert!(store.release(&lease).await.unwrap());

    let put = store.put_link(&link("001A", "43"), &lease).await;
    let delete = store.delete_link("customer", "001A", &lease).await;

    for refused in [put, delete] {
        assert!(
            matches!(refused, Err(StoreError::StaleFence { ref resource, token })
                if resource == "customer:001A" && token == lease.token),
            "{refused:?}"
        );
    }
    assert_eq!(
        store.link_by_salesforce("customer", "001A").await.unwrap(),
        Some(link("001A", "42"))
    );
    assert_eq!(
        store.link_by_netsuite("customer", "43").await.unwrap(),
        None
    );
}

pub async fn locks_are_exclusive(store: impl Locks) {
    let held = lease(&store, "opp:1").await;
    assert_eq!(store.acquire("opp:1", LONG).await.unwrap(), None);
    assert!(store.acquire("opp:2", LONG).await.unwrap().is_some());

    assert!(store.release(&held).await.unwrap());
    assert!(store.acquire("opp:1", LONG).await.unwrap().is_some());
}

pub async fn fencing_tokens_strictly_increase_per_resource(store: impl Locks) {
    let mut last = 0;
    for _ in 0..3 {
        let lease = lease(&store, "opp:1").await;
        assert!(lease.token > last, "{} after {last}", lease.token);
        last = lease.token;
        store.release(&lease).await.unwrap();
    }
    let expiring = store.acquire("opp:1", SHORT).await.unwrap().unwrap();
    let_short_ttl_expire().await;
    let after_expiry = lease(&store, "opp:1").await;
    assert!(expiring.token > last && after_expiry.token > expiring.token);
}

pub async fn release_with_a_wrong_token_does_nothing(store: impl Locks) {
    let held = lease(&store, "opp:1").await;
    let forged = Lease {
        token: held.token + 1,
        ..held.clone()
    };

    assert!(!store.release(&forged).await.unwrap());
    assert_eq!(store.acquire("opp:1", LONG).await.unwrap(), None);
    assert!(store.release(&held).await.unwrap());
    assert!(!store.release(&held).await.unwrap());
}

pub async fn renew_extends_a_held_lease_and_fails_once_lost(store: impl Locks) {
    let held = store.acquire("opp:1", SHORT).await.unwrap().unwrap();
    assert!(store.renew(&held, LONG).await.unwrap());
    let_short_ttl_expire().await;
    assert_eq!(store.acquire("opp:1", SHORT).await.unwrap(), None);

    let other = store.acquire("opp:2", SHORT).await.unwrap().unwrap();
    let_short_ttl_expire().await;
    assert!(!store.renew(&other, LONG).await.unwrap());
    assert!(store.acquire("opp:2", LONG).await.unwrap().is_some());
}

pub async fn an_expired_lease_lets_another_acquire(store: impl Locks) {
    let first = store.acquire("opp:1", SHORT).await.unwrap().unwrap();
    let_short_ttl_expire().await;

    let second = lease(&store, "opp:1").await;
    assert!(second.token > first.token);
    assert!(!store.release(&first).await.unwrap());
}

pub async fn a_stale_holder_cannot_write_a_link(store: impl IdMap + Locks) {
    let stale = store
        .acquire("customer:001A", SHORT)
        .await
        .unwrap()
        .unwrap();
    let_short_ttl_expire().await;
    let current = lease(&store, "customer:001A").await;

    let refused = store.put_link(&link("001A", "1"), &stale).await;
    assert!(matches!(refused, Err(StoreError::StaleFence { .. })));
    store.put_link(&link("001A", "2"), &current).await.unwrap();

    let stored = store.link_by_salesforce("customer", "001A").await.unwrap();
    assert_eq!(stored.map(|l| l.netsuite_id), Some("2".to_owned()));
    assert_eq!(store.link_by_netsuite("customer", "1").await.unwrap(), None);
}

pub async fn idempotency_records_are_written_once(store: impl Idempotency) {
    assert_eq!(store.idempotency_get("k1").await.unwrap(), None);
    assert!(store.idempotency_put("k1", b"first", LONG).await.unwrap());
    assert!(!store.idempotency_put("k1", b"second", LONG).await.unwrap());
    assert_eq!(
        store.idempotency_get("k1").await.unwrap(),
        Some(b"first".to_vec())
    );
}

pub async fn idempotency_records_expire_after_their_ttl(store: impl Idempotency) {
    assert!(store.idempotency_put("k1", b"first", SHORT).await.unwrap());
    let_short_ttl_expire().await;

    assert_eq!(store.idempotency_get("k1").await.unwrap(), None);
    assert!(store.idempotency_put("k1", b"again", LONG).await.unwrap());
    assert_eq!(
        store.idempotency_get("k1").await.unwrap(),
        Some(b"again".to_vec())
    );
}

pub async fn a_semaphore_hands_out_at_most_limit_slots(store: impl Slots) {
    let a = store
        .acquire_slot("netsuite", 2, LONG)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .acquire_slot("netsuite", 2, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(store.acquire_slot("netsuite", 2, LONG).await.unwrap(), None);
    assert_eq!(store.slots_in_use("netsuite").await.unwrap(), 2);
    assert!(
        store
            .acquire_slot("other", 2, LONG)
            .await
            .unwrap()
            .is_some(),
        "names are separate"
    );

    store.release_slot("netsuite", &a).await.unwrap();
    assert_eq!(store.slots_in_use("netsuite").await.unwrap(), 1);
    assert!(store
        .acquire_slot("netsuite", 2, LONG)
        .await
        .unwrap()
        .is_some());
    store
        .release_slot("netsuite", "no-such-slot")
        .await
        .unwrap();
}

pub async fn many_slots_are_taken_all_or_none_and_given_back_at_once(store: impl Slots) {
    let three = store
        .acquire_slots("budget", 5, 3, LONG)
        .await
        .unwrap()
        .expect("three of five free");
    assert_eq!(three.len(), 3);
    assert_eq!(
        store.acquire_slots("budget", 5, 3, LONG).await.unwrap(),
        None,
        "two left: a charge of three takes none"
    );
    assert_eq!(store.slots_in_use("budget").await.unwrap(), 3);
    let two = store
        .acquire_slots("budget", 5, 2, LONG)
        .await
        .unwrap()
        .expect("the last two");
    assert_eq!(store.acquire_slot("budget", 5, LONG).await.unwrap(), None);
    store.release_slots("budget", &three).await.unwrap();
    assert_eq!(store.slots_in_use("budget").await.unwrap(), 2);
    store.release_slots("budget", &two).await.unwrap();
    store.release_slots("budget", &[]).await.unwrap();
    assert_eq!(store.slots_in_use("budget").await.unwrap(), 0);
}

pub async fn a_dead_holders_slot_expires(store: impl Slots) {
    store
        .acquire_slot("netsuite", 1, SHORT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.acquire_slot("netsuite", 1, LONG).await.unwrap(), None);
    let_short_ttl_expire().await;
    assert_eq!(store.slots_in_use("netsuite").await.unwrap(), 0);
    assert!(store
        .acquire_slot("netsuite", 1, LONG)
        .await
        .unwrap()
        .is_some());
}

pub async fn status_values_are_last_writer_wins_and_expire(store: impl StatusValues) {
    assert_eq!(store.status("sf-usage").await.unwrap(), None);
    store.put_status("sf-usage", b"1/10", LONG).await.unwrap();
    store.put_status("sf-usage", b"2/10", SHORT).await.unwrap();
    assert_eq!(
        store.status("sf-usage").await.unwrap(),
        Some(b"2/10".to_vec())
    );
    let_short_ttl_expire().await;
    assert_eq!(store.status("sf-usage").await.unwrap(), None);
}

pub async fn a_cleared_status_is_gone_and_clearing_nothing_is_no_error(store: impl StatusValues) {
    store.put_status("intent", b"1", LONG).await.unwrap();
    store.put_status("other", b"2", LONG).await.unwrap();
    store.clear_status("intent").await.unwrap();
    assert_eq!(store.status("intent").await.unwrap(), None);
    assert_eq!(store.status("other").await.unwrap(), Some(b"2".to_vec()));
    store.clear_status("intent").await.unwrap();
    store.clear_status("never-set").await.unwrap();
    assert_eq!(store.status("never-set").await.unwrap(), None);
}

pub async fn a_status_swap_writes_only_over_the_value_expected(store: impl StatusValues) {
    // Unset: only a swap expecting nothing writes.
    assert!(!store
        .swap_status("ns-limit", Some(b"5"), b"4", LONG)
        .await
        .unwrap());
    assert_eq!(store.status("ns-limit").await.unwrap(), None);
    assert!(store
        .swap_status("ns-limit", None, b"5", LONG)
        .await
        .unwrap());
    // Set: a second "expect nothing" and a stale expectation both lose and change nothing.
    assert!(!store
        .swap_status("ns-limit", None, b"9", LONG)
        .await
        .unwrap());
    assert!(!store
        .swap_status("ns-limit", Some(b"4"), b"3", LONG)
        .await
        .unwrap());
    assert_eq!(store.status("ns-limit").await.unwrap(), Some(b"5".to_vec()));
    // Two writers expecting the same value: exactly one wins.
    let (a, b) = tokio::join!(
        store.swap_status("ns-limit", Some(b"5"), b"4", SHORT),
        store.swap_status("ns-limit", Some(b"5"), b"3", SHORT),
    );
    assert_eq!(
        a.unwrap() as u8 + b.unwrap() as u8,
        1,
        "both or neither swap won"
    );
    let won = store.status("ns-limit").await.unwrap().unwrap();
    assert!(won == b"4" || won == b"3");
    // The swap's TTL holds: once it runs out the value is gone and "expect nothing" wins again.
    let_short_ttl_expire().await;
    assert_eq!(store.status("ns-limit").await.unwrap(), None);
    assert!(store
        .swap_status("ns-limit", None, b"5", LONG)
        .await
        .unwrap());
}
