//! The contract of the audit log: read in order after an id, capped at about a length.

use isthmus_store::{AuditLog, StoreError};

pub async fn the_audit_log_is_read_in_order_after_an_id(store: impl AuditLog) {
    for n in 0..5 {
        let entry = format!("entry {n}");
        store.append_audit(entry.as_bytes(), 100).await.unwrap();
    }

    let all = store.audit(None, 10).await.unwrap();
    let after_second = store.audit(Some(&all[1].0), 2).await.unwrap();
    let after_last = store.audit(Some(&all[4].0), 10).await.unwrap();

    let entries: Vec<&[u8]> = all.iter().map(|(_, e)| e.as_slice()).collect();
    assert_eq!(
        entries,
        [b"entry 0", b"entry 1", b"entry 2", b"entry 3", b"entry 4"]
    );
    assert_eq!(after_second, all[2..4]);
    assert!(after_last.is_empty());
    assert!(store.audit(None, 0).await.unwrap().is_empty());
}

pub async fn the_audit_log_keeps_about_max_len_entries(store: impl AuditLog) {
    for n in 0..250 {
        let entry = format!("entry {n}");
        store.append_audit(entry.as_bytes(), 10).await.unwrap();
    }

    let kept = store.audit(None, 1000).await.unwrap();

    // At least the newest 10, in order; Redis may keep up to a stream node (100) more.
    assert!((10..=110).contains(&kept.len()), "{} kept", kept.len());
    let first = 250 - kept.len();
    for (offset, (_, entry)) in kept.iter().enumerate() {
        assert_eq!(entry, format!("entry {}", first + offset).as_bytes());
    }
}

pub async fn malformed_audit_ids_are_refused(store: impl AuditLog) {
    store.append_audit(b"entry", 100).await.unwrap();

    for after in ["yesterday", "1-", "-1", "1-2-3"] {
        let refused = store.audit(Some(after), 10).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidStreamId(_))),
            "{after:?}: {refused:?}"
        );
    }
}
