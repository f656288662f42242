//! The contract of the conflict log: recorded, listed newest first by state, read, resolved
//! once, bounded without ever dropping a parked conflict.

use isthmus_store::{Conflict, ConflictQuery, ConflictResolution, ConflictState, Conflicts};

/// A conflict on `name` found at `detected_at_ms`, parked unless `resolved`.
pub fn conflict(id: &str, detected_at_ms: i64, resolved: bool) -> Conflict {
    Conflict {
        id: id.into(),
        kind: "customer".into(),
        flow: "customers.account_to_customer".into(),
        salesforce_id: "001000000000001AAA".into(),
        netsuite_id: "42".into(),
        field: "name".into(),
        salesforce_value: Some("Acme (SF)".into()),
        netsuite_value: Some("Acme (NS)".into()),
        last_synced_value: Some("Acme".into()),
        policy: if resolved { "latest" } else { "manual" }.into(),
        resolution: resolved.then(|| resolution("netsuite", "policy")),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        detected_at_ms,
    }
}

pub fn resolution(winner: &str, by: &str) -> ConflictResolution {
    ConflictResolution {
        winner: winner.into(),
        value: Some("Acme (NS)".into()),
        by: by.into(),
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        resolved_at_ms: 1_714_557_700_000,
    }
}

fn query(state: Option<ConflictState>) -> ConflictQuery {
    ConflictQuery {
        state,
        limit: 100,
        offset: 0,
    }
}

async fn ids(store: &impl Conflicts, query: ConflictQuery) -> Vec<String> {
    let found = store.conflicts(&query).await.unwrap();
    found.into_iter().map(|c| c.id).collect()
}

pub async fn conflicts_are_listed_newest_first_by_state(store: impl Conflicts) {
    store
        .record_conflict(&conflict("c1", 1_000, false), 100)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("c2", 2_000, true), 100)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("c3", 3_000, false), 100)
        .await
        .unwrap();

    assert_eq!(ids(&store, query(None)).await, ["c3", "c2", "c1"]);
    assert_eq!(
        ids(&store, query(Some(ConflictState::Parked))).await,
        ["c3", "c1"]
    );
    assert_eq!(
        ids(&store, query(Some(ConflictState::Resolved))).await,
        ["c2"]
    );
    let second_page = ConflictQuery {
        limit: 1,
        offset: 1,
        ..query(None)
    };
    assert_eq!(ids(&store, second_page).await, ["c2"]);
    let none = ConflictQuery {
        limit: 0,
        ..query(None)
    };
    assert!(ids(&store, none).await.is_empty());
    // Counted without reading them.
    let count = |state| store.conflict_count(state);
    assert_eq!(count(None).await.unwrap(), 3);
    assert_eq!(count(Some(ConflictState::Parked)).await.unwrap(), 2);
    assert_eq!(count(Some(ConflictState::Resolved)).await.unwrap(), 1);
    assert_eq!(
        store.get_conflict("c2").await.unwrap(),
        Some(conflict("c2", 2_000, true))
    );
    assert_eq!(store.get_conflict("c9").await.unwrap(), None);
}

pub async fn a_parked_conflict_is_resolved_once(store: impl Conflicts) {
    store
        .record_conflict(&conflict("c1", 1_000, false), 100)
        .await
        .unwrap();

    let first = store
        .resolve_conflict("c1", &resolution("salesforce", "person"))
        .await
        .unwrap();
    let second = store
        .resolve_conflict("c1", &resolution("netsuite", "person"))
        .await
        .unwrap();
    let unknown = store
        .resolve_conflict("c9", &resolution("netsuite", "person"))
        .await
        .unwrap();

    let resolved = first.expect("the parked conflict resolves");
    assert_eq!(
        resolved.resolution,
        Some(resolution("salesforce", "person"))
    );
    assert_eq!((second, unknown), (None, None));
    assert_eq!(store.get_conflict("c1").await.unwrap(), Some(resolved));
    assert!(ids(&store, query(Some(ConflictState::Parked)))
        .await
        .is_empty());
    assert_eq!(
        ids(&store, query(Some(ConflictState::Resolved))).await,
        ["c1"]
    );
}

pub async fn the_conflict_log_drops_the_oldest_resolved_and_keeps_every_parked(
    store: impl Conflicts,
) {
    store
        .record_conflict(&conflict("p1", 1_000, false), 3)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("r1", 2_000, true), 3)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("r2", 3_000, true), 3)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("p2", 4_000, false), 3)
        .await
        .unwrap();
    store
        .record_conflict(&conflict("p3", 5_000, false), 3)
        .await
        .unwrap();

    assert_eq!(ids(&store, query(None)).await, ["p3", "p2", "p1"]);
    assert_eq!(store.get_conflict("r1").await.unwrap(), None);
    store
        .record_conflict(&conflict("p4", 6_000, false), 3)
        .await
        .unwrap();
    assert_eq!(
        ids(&store, query(Some(ConflictState::Parked))).await,
        ["p4", "p3", "p2", "p1"],
        "parked conflicts outlive the bound"
    );
}
