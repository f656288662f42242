//! Accounts deleted in Salesforce → their customers, from Salesforce's deleted-records log
//! (`sobjects/Account/deleted`), per `customers.account_deleted`: each linked customer is marked
//! inactive and the link dropped, under the account's lock.
//!
//! The log reaches back **15 days** (less if the org purged it), a window's seconds are dropped
//! and it must span more than a minute; a request outside that is refused. So:
//!
//! - a run whose cursor is within a minute of now asks nothing (the cursor stays);
//! - a run whose cursor is older than the log reaches (an outage of more than 15 days), or
//!   whose window Salesforce refuses (`INVALID_REPLICATION_DATE`: the log was purged earlier),
//!   cannot read the deletions in between. It says so — an alert ([`Alert::LogOutrun`]) — and
//!   finds them another way: a reconciliation of the ID map ([`CustomerFlows::find_lost_deletes`])
//!   treats every linked account that no longer exists in Salesforce as deleted. Then it reads
//!   the log from as far back as it reaches.

use std::time::Instant;

use chrono::{DateTime, DurationRound, Utc};
use isthmus_salesforce::id::SalesforceId;
use serde_json::{Map, Value};

use super::delta::{parse_modstamp, DeltaOptions, DELETES_CURSOR, FLOW_ACCOUNT_DELETED};
use super::{CustomerFlows, LINK_KIND};
use crate::alerts::Alert;
use crate::audit::{SyncLog, Trigger};
use crate::config::AccountDeleted;
use crate::error::{EngineError, Result};
use crate::lock::with_lock;
use crate::result::{FieldChange, Outcome, SyncResult};
use crate::schedule::{Cursor, CursorPos};

/// How far back Salesforce keeps its deleted-records log.
pub const DELETED_LOG_DAYS: i64 = 15;

/// How far inside the log's reach a window starts, so clocks a little apart and the time a
/// run takes never push `start` past the edge.
const LOG_EDGE_MARGIN_MINUTES: i64 = 10;

/// Links checked against Salesforce per query while looking for lost deletions.
const LINKS_PER_CHECK: usize = 200;

/// Salesforce drops a replication date's seconds.
fn to_the_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(at)
}

impl CustomerFlows {
    /// Accounts deleted in Salesforce since the last run → their customers, per
    /// `customers.account_deleted`; `(deleted accounts, inactivated customers)`. See the module
    /// doc for a cursor older than the log.
    pub async fn propagate_account_deletes(
        &self,
        options: &DeltaOptions,
        log: &SyncLog,
        trace_id: &str,
    ) -> Result<(u64, u64)> {
        let cursor = Cursor::new(DELETES_CURSOR, options.overlap)?;
        let now = Utc::now();
        let reach = now - chrono::Duration::days(DELETED_LOG_DAYS)
            + chrono::Duration::minutes(LOG_EDGE_MARGIN_MINUTES);
        let since = self.delta_start(&cursor).await?.since;
        let (mut deleted, mut inactivated) = (0, 0);
        let mut start = since;
        if since < reach {
            let found = self
                .outrun_log(&since.to_rfc3339(), "older than the 15 days", log, trace_id)
                .await?;
            (deleted, inactivated) = found;
            start = reach;
        }
        let start = to_the_minute(start);
        if to_the_minute(now) - start <= chrono::Duration::minutes(1) {
            // Salesforce answers only windows of more than a minute: the next run reads this
            // one, from the cursor (kept, or set here on a first run so nothing is skipped).
            if cursor.load(&self.store).await?.is_none() {
                cursor.save(&self.store, &CursorPos::new(start, "")).await?;
            }
            return Ok((deleted, inactivated));
        }
        options.allocation.wait_for_batch(&self.salesforce).await?;
        let answer = match self.salesforce.deleted("Account", start, now).await {
            Ok(answer) => answer,
            Err(err) if err.error_code() == Some("INVALID_REPLICATION_DATE") => {
                let (found, fixed) = self
                    .outrun_log(&start.to_rfc3339(), &err.to_string(), log, trace_id)
                    .await?;
                // Everything deleted up to now was looked for: the log is read from here on.
                cursor
                    .save(&self.store, &CursorPos::new(to_the_minute(now), ""))
                    .await?;
                return Ok((deleted + found, inactivated + fixed));
            }
            Err(err) => return Err(err.into()),
        };
        deleted += answer.records.len() as u64;
        if self.config.account_deleted == AccountDeleted::Inactivate {
            for record in &answer.records {
                // A failure returns: the log is read again from the same point next run.
                inactivated += u64::from(self.propagate_one(&record.id, log, trace_id).await?);
            }
        }
        if let Some(covered) = parse_modstamp(&answer.latest_date_covered) {
            cursor
                .save(&self.store, &CursorPos::new(covered, ""))
                .await?;
        }
        Ok((deleted, inactivated))
    }

    /// The log cannot answer from `since`: alert, then look for the deletions in the ID map.
    async fn outrun_log(
        &self,
        since: &str,
        why: &str,
        log: &SyncLog,
        trace_id: &str,
    ) -> Result<(u64, u64)> {
        let (found, inactivated) = self.find_lost_deletes(log, trace_id).await?;
        tracing::warn!(
            since,
            why,
            found,
            "the deleted-records log of Account no longer reaches the delta's cursor"
        );
        log.alert(Alert::LogOutrun {
            flow: DELETES_CURSOR.into(),
            since: since.into(),
            detail: format!(
                "Salesforce's deleted-records log of Account cannot be read from there ({why}); \
                 reconciliation found {found} linked account(s) gone, {inactivated} customer(s) \
                 inactivated"
            ),
        });
        Ok((found, inactivated))
    }

    /// Reconciliation of the accounts' ID map with Salesforce: every linked account that no
    /// longer exists there is treated as deleted (its customer inactivated per
    /// `customers.account_deleted`); `(accounts gone, customers inactivated)`. Reads one page of
    /// links and one SOQL query per [`LINKS_PER_CHECK`] links.
    pub async fn find_lost_deletes(&self, log: &SyncLog, trace_id: &str) -> Result<(u64, u64)> {
        let (mut gone, mut inactivated) = (0, 0);
        let mut after: Option<String> = None;
        loop {
            let links = self
                .store
                .links_page(LINK_KIND, after.as_deref(), LINKS_PER_CHECK)
                .await?;
            let Some(last) = links.last() else {
                break;
            };
            after = Some(last.salesforce_id.clone());
            let ids: Vec<&str> = links.iter().map(|l| l.salesforce_id.as_str()).collect();
            let q = isthmus_salesforce::soql::Soql::select(&["Id"])
                .from("Account")
                .where_in("Id", ids.iter().copied())
                .build()?;
            let alive: std::collections::HashSet<String> = self
                .salesforce
                .query(&q)
                .await?
                .iter()
                .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_owned))
                .collect();
            for id in ids.into_iter().filter(|id| !alive.contains(*id)) {
                gone += 1;
                if self.config.account_deleted == AccountDeleted::Inactivate {
                    inactivated += u64::from(self.propagate_one(id, log, trace_id).await?);
                }
            }
            if links.len() < LINKS_PER_CHECK {
                break;
            }
        }
        Ok((gone, inactivated))
    }

    /// One deleted account → its customer; whether a customer was inactivated.
    async fn propagate_one(&self, account_id: &str, log: &SyncLog, trace_id: &str) -> Result<bool> {
        let began = Instant::now();
        match self
            .inactivate_for_deleted_account(account_id, trace_id)
            .await?
        {
            Some(result) => {
                log.finished(&result, Trigger::Delta, began).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub async fn inactivate_for_deleted_account(
        &self,
        account_id: &str,
        trace_id: &str,
    ) -> Result<Option<SyncResult>> {
        let id = SalesforceId::parse(account_id)
            .map_err(|e| EngineError::InvalidArgument(format!("account id {account_id:?}: {e}")))?;
        let resource = format!("{LINK_KIND}:sf:{id}");
        with_lock(
            &self.store,
            &resource,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                let Some(link) = self
                    .store
                    .link_by_salesforce(LINK_KIND, id.as_str())
                    .await?
                else {
                    return Ok(None);
                };
                let mut out =
                    SyncResult::new(FLOW_ACCOUNT_DELETED, Outcome::Updated, false, trace_id);
                out.salesforce_id = link.salesforce_id.clone();
                out.netsuite_id = link.netsuite_id.clone();
                out.matched_rule = "id_map".into();
                out.changes.push(FieldChange {
                    record: "netsuite.customer".into(),
                    field: "isInactive".into(),
                    before: Some("false".into()),
                    after: Some("true".into()),
                });
                let mut body = Map::new();
                body.insert("isInactive".into(), Value::Bool(true));
                match self
                    .netsuite
                    .update("customer", &link.netsuite_id, &body, &[])
                    .await
                {
                    Ok(()) => {}
                    Err(err) if err.is_not_found() => {
                        out.outcome = Outcome::Skipped;
                        out.changes.clear();
                        out.warnings.push(format!(
                            "NetSuite customer {} no longer exists",
                            link.netsuite_id
                        ));
                    }
                    Err(err) => return Err(err.into()),
                }
                self.store
                    .delete_link(LINK_KIND, &link.salesforce_id, &lease)
                    .await?;
                Ok(Some(out))
            },
        )
        .await
    }
}
