//! The contract of the audit log: read in order after an id, capped at about a length.

use isthmus_store::{AuditLog, Idempotency, StatusValues, StoreError};

pub async fn the_audit_log_is_read_in_order_after_an_id(store: impl AuditLog) {
    for n in 0..5 {
        let entry = format!("entry {n}");
        store
            .append_audit(entry.as_bytes(), 100, &[])
            .await
            .unwrap();
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
        store.append_audit(entry.as_bytes(), 10, &[]).await.unwrap();
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
    store.append_audit(b"entry", 100, &[]).await.unwrap();

    for after in ["yesterday", "1-", "-1", "1-2-3"] {
        let refused = store.audit(Some(after), 10).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidStreamId(_))),
            "{after:?}: {refused:?}"
        );
    }
}

pub async fn each_record_keeps_its_own_history_newest_first(store: impl AuditLog) {
    store
        .append_audit(b"first", 100, &["sf:001A", "ns:customer:7"])
        .await
        .unwrap();
    store
        .append_audit(b"other", 100, &["sf:001B"])
        .await
        .unwrap();
    store
        .append_audit(b"second", 100, &["sf:001A"])
        .await
        .unwrap();

    let a = store.record_audit("sf:001A", 10).await.unwrap();
    let entries: Vec<&[u8]> = a.iter().map(|(_, e)| e.as_slice()).collect();
    assert_eq!(entries, [b"second".as_slice(), b"first".as_slice()]);
    // The ids are the log's: the record's first entry is the log's first.
    let log = store.audit(None, 10).await.unwrap();
    assert_eq!(a[1], log[0]);
    assert_eq!(a[0], log[2]);
    assert_eq!(
        store.record_audit("ns:customer:7", 10).await.unwrap(),
        log[..1]
    );
    assert_eq!(store.record_audit("sf:001A", 1).await.unwrap(), a[..1]);
    assert!(store.record_audit("sf:001C", 10).await.unwrap().is_empty());
    assert!(store.record_audit("sf:001A", 0).await.unwrap().is_empty());
}

pub async fn a_record_history_keeps_its_newest_entries(store: impl AuditLog) {
    let cap = isthmus_store::RECORD_AUDIT_LEN;
    for n in 0..cap + 5 {
        store
            .append_audit(format!("entry {n}").as_bytes(), 1000, &["sf:001A"])
            .await
            .unwrap();
    }
    let kept = store.record_audit("sf:001A", 1000).await.unwrap();
    assert_eq!(kept.len(), cap);
    assert_eq!(kept[0].1, format!("entry {}", cap + 4).as_bytes());
    assert_eq!(kept[cap - 1].1, b"entry 5");
}

pub async fn redaction_replaces_a_persons_values_in_the_log_and_histories_in_place(
    store: impl AuditLog,
) {
    store
        .append_audit(b"{\"c\":\"Hank Scorpio\"}", 100, &["sf:001A"])
        .await
        .unwrap();
    store
        .append_audit(b"{\"c\":\"Marge\"}", 100, &["sf:001A", "ns:7"])
        .await
        .unwrap();
    store
        .append_audit(b"{\"e\":\"hank@globex.test\"}", 100, &["ns:7"])
        .await
        .unwrap();
    let before = store.audit(None, 10).await.unwrap();

    let values = ["Hank Scorpio".to_owned(), "hank@globex.test".to_owned()];
    let changed = store.redact_audit(&values, "[erased]").await.unwrap();

    // Two log entries, one item in each history.
    assert_eq!(changed, 4);
    let after = store.audit(None, 10).await.unwrap();
    let ids = |entries: &[(String, Vec<u8>)]| {
        entries.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before), "same ids, same order");
    let texts: Vec<String> = after
        .iter()
        .map(|(_, e)| String::from_utf8_lossy(e).into_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "{\"c\":\"[erased]\"}",
            "{\"c\":\"Marge\"}",
            "{\"e\":\"[erased]\"}"
        ]
    );
    let sf = store.record_audit("sf:001A", 10).await.unwrap();
    assert_eq!(sf[1].1, b"{\"c\":\"[erased]\"}");
    assert_eq!(sf[1].0, before[0].0);
    let ns = store.record_audit("ns:7", 10).await.unwrap();
    assert_eq!(ns[0].1, b"{\"e\":\"[erased]\"}");

    // Appending goes on after the last id, and a second redaction finds nothing.
    store.append_audit(b"next", 100, &[]).await.unwrap();
    let next = store.audit(Some(&before[2].0), 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(store.redact_audit(&values, "[erased]").await.unwrap(), 0);
}

/// Job records (status values) and replayed answers (idempotency) hold sync results, whose
/// changes name people: an erasure's redaction reaches them too, keeping each value's TTL, and
/// leaves other values alone.
pub async fn redaction_reaches_status_values_and_idempotency_answers(
    store: impl AuditLog + StatusValues + Idempotency,
) {
    let ttl = std::time::Duration::from_secs(600);
    store
        .put_status("job:1", b"{\"after\":\"Hank Scorpio\"}", ttl)
        .await
        .unwrap();
    store
        .put_status("job:2", b"{\"after\":\"Marge\"}", ttl)
        .await
        .unwrap();
    assert!(store
        .idempotency_put("click-1", b"{\"email\":\"hank@globex.test\"}", ttl)
        .await
        .unwrap());

    let values = ["Hank Scorpio".to_owned(), "hank@globex.test".to_owned()];
    assert_eq!(store.redact_audit(&values, "[erased]").await.unwrap(), 2);

    assert_eq!(
        store.status("job:1").await.unwrap().as_deref(),
        Some(&b"{\"after\":\"[erased]\"}"[..])
    );
    assert_eq!(
        store.status("job:2").await.unwrap().as_deref(),
        Some(&b"{\"after\":\"Marge\"}"[..])
    );
    assert_eq!(
        store.idempotency_get("click-1").await.unwrap().as_deref(),
        Some(&b"{\"email\":\"[erased]\"}"[..])
    );
    // Still a kept answer: a second put under the key is refused.
    assert!(!store
        .idempotency_put("click-1", b"other", ttl)
        .await
        .unwrap());
    assert_eq!(store.redact_audit(&values, "[erased]").await.unwrap(), 0);
}
