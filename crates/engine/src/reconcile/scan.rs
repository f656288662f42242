//! The walk every flow's reconciliation shares: the ID map page by page against both sides,
//! then each side's records that should be linked.
//!
//! Above `salesforce.bulk_threshold` links ([`FlowSpec::bulk_threshold`]), the Salesforce side is
//! read through two Bulk API 2.0 query jobs instead of one SOQL call per [`PAGE`] links and one
//! per 2,000 records of the scan: the object's records (the fields the comparison reads) and the
//! records that should be linked, both ordered by `Id` here as the keyset walk orders them. The
//! drifts found are the same; the NetSuite side and Redis are read as below the threshold.
//! The walk buffers at most `threshold` links before it knows which way it reads, so the REST
//! path below it is unchanged. Non-goal: streaming the bulk results (held in memory, a few
//! hundred bytes a record).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use isthmus_netsuite::{suiteql, NetSuiteClient};
use isthmus_salesforce::{soql, BulkField, BulkQuery, KeysetQuery, SalesforceClient};
use isthmus_store::{Link, Store};
use serde_json::{Map, Value};

use super::{Drift, DriftKind, Findings, Flow, Report, PAGE};
use crate::error::Result;
use crate::lock::with_lock;

type Record = Map<String, Value>;

/// NetSuite records checked for a link per SuiteQL page.
const NETSUITE_SCAN_PAGE: usize = 1000;
/// Salesforce records checked for a link per `MGET` when the scan reads a bulk job (the REST
/// walk's page size).
const BULK_SCAN_CHUNK: usize = 2000;

/// Compares a linked pair: `(link, salesforce row, netsuite row)` → drifts.
pub(crate) type Compare<'a> = &'a (dyn Fn(&Link, &Record, &Record) -> Vec<Drift> + Sync);

/// How one flow is compared.
pub(crate) struct FlowSpec<'a> {
    pub flow: Flow,
    pub link_kind: &'static str,
    pub salesforce: &'a SalesforceClient,
    pub netsuite: &'a NetSuiteClient,
    pub store: &'a Arc<dyn Store>,
    /// The Salesforce object and the fields the comparison reads (`Id` is always read).
    pub sf_object: &'static str,
    pub sf_fields: Vec<String>,
    /// SuiteQL `FROM` with its alias (`customer c`), the id column (`c.id`), and the columns
    /// the comparison reads (the id must come back as `id`).
    pub ns_from: &'static str,
    pub ns_id: &'static str,
    pub ns_columns: String,
    /// SOQL condition of the Salesforce records that should have a link (`None`: no scan).
    pub sf_expected: Option<String>,
    /// SuiteQL condition of the NetSuite records that should have a link (`None`: no scan).
    pub ns_expected: Option<String>,
    /// A NetSuite record counts as unlinked only when its `(column)` names a record linked
    /// under `(link kind)`: the flow syncs only records of linked customers.
    pub ns_entity: Option<(&'static str, &'static str)>,
    pub compare: Compare<'a>,
    /// Links above which Salesforce is read through Bulk API 2.0 query jobs (`u64::MAX`: never).
    pub bulk_threshold: u64,
    /// The columns of `sf_fields` that are not text (a bulk job answers CSV; REST answers JSON).
    pub sf_types: &'static [(&'static str, BulkField)],
}

impl FlowSpec<'_> {
    pub async fn run(&self, max_items: usize) -> Result<Report> {
        let mut findings = Findings::new(self.flow, max_items);
        self.ensure_indexed().await?;
        let bulk = self.walk_links(&mut findings).await?;
        if let Some(condition) = &self.sf_expected {
            super::runs::publish(
                self.store.as_ref(),
                &findings.report,
                "running",
                "salesforce",
                None,
            )
            .await;
            if bulk {
                self.scan_salesforce_bulk(condition, &mut findings).await?;
            } else {
                self.scan_salesforce(condition, &mut findings).await?;
            }
        }
        if let Some(condition) = &self.ns_expected {
            super::runs::publish(
                self.store.as_ref(),
                &findings.report,
                "running",
                "netsuite",
                None,
            )
            .await;
            self.scan_netsuite(condition, &mut findings).await?;
        }
        Ok(findings.finish())
    }

    /// Indexes the kind's links written before the index existed, once per store (the status
    /// value `link-index:<kind>` marks it done).
    async fn ensure_indexed(&self) -> Result<()> {
        let marker = format!("link-index:{}", self.link_kind);
        if self.store.status(&marker).await?.is_some() {
            return Ok(());
        }
        let found = self.store.index_links(self.link_kind).await?;
        tracing::info!(
            kind = self.link_kind,
            found,
            "links indexed for reconciliation"
        );
        self.store
            .put_status(&marker, b"1", Duration::from_secs(10 * 365 * 86_400))
            .await?;
        Ok(())
    }

    fn drift(&self, kind: DriftKind, link: (&str, &str), detail: String) -> Drift {
        Drift {
            flow: self.flow,
            kind,
            salesforce_id: link.0.to_string(),
            netsuite_id: link.1.to_string(),
            field: None,
            salesforce_value: None,
            netsuite_value: None,
            detail,
        }
    }

    /// Walks the ID map; `true` when it had more links than the bulk threshold (and so read
    /// Salesforce through a bulk job).
    async fn walk_links(&self, findings: &mut Findings) -> Result<bool> {
        let mut after: Option<String> = None;
        // Pages held until the walk knows whether it is above the threshold.
        let mut held: std::collections::VecDeque<Vec<Link>> = std::collections::VecDeque::new();
        let mut counted: u64 = 0;
        let mut exhausted = false;
        let never = self.bulk_threshold == u64::MAX;
        while !never && counted <= self.bulk_threshold {
            let links = self
                .store
                .links_page(self.link_kind, after.as_deref(), PAGE)
                .await?;
            let Some(last) = links.last() else {
                exhausted = true;
                break;
            };
            after = Some(last.salesforce_id.clone());
            counted += links.len() as u64;
            held.push_back(links);
        }
        let bulk = !never && !exhausted;
        let bulk_rows = if bulk {
            Some(self.salesforce_rows_bulk().await?)
        } else {
            None
        };
        loop {
            let links = match held.pop_front() {
                Some(links) => links,
                None if exhausted => return Ok(bulk),
                None => {
                    let links = self
                        .store
                        .links_page(self.link_kind, after.as_deref(), PAGE)
                        .await?;
                    let Some(last) = links.last() else {
                        return Ok(bulk);
                    };
                    after = Some(last.salesforce_id.clone());
                    links
                }
            };
            let sf = match &bulk_rows {
                Some(rows) => links
                    .iter()
                    .filter_map(|l| {
                        let row = rows.get(short_id(&l.salesforce_id))?;
                        Some((l.salesforce_id.clone(), row.clone()))
                    })
                    .collect(),
                None => self.salesforce_rows(&links).await?,
            };
            let ns = self.netsuite_rows(&links).await?;
            super::runs::publish(
                self.store.as_ref(),
                &findings.report,
                "running",
                "links",
                None,
            )
            .await;
            for link in &links {
                findings.report.links_checked += 1;
                let pair = (link.salesforce_id.as_str(), link.netsuite_id.as_str());
                let sf_row = sf.get(&link.salesforce_id);
                let ns_row = ns.get(&link.netsuite_id);
                if sf_row.is_none() {
                    findings.push(self.drift(
                        DriftKind::MissingInSalesforce,
                        pair,
                        format!(
                            "{} {} is linked but no longer in Salesforce",
                            self.sf_object, link.salesforce_id
                        ),
                    ));
                }
                if ns_row.is_none() {
                    findings.push(self.drift(
                        DriftKind::MissingInNetsuite,
                        pair,
                        format!(
                            "NetSuite record {} is linked but no longer in NetSuite",
                            link.netsuite_id
                        ),
                    ));
                }
                if let (Some(sf_row), Some(ns_row)) = (sf_row, ns_row) {
                    for drift in (self.compare)(link, sf_row, ns_row) {
                        findings.push(drift);
                    }
                }
            }
        }
    }

    /// The linked Salesforce records of a page, by 18-character id (one SOQL call).
    async fn salesforce_rows(&self, links: &[Link]) -> Result<HashMap<String, Record>> {
        let ids: Vec<String> = links
            .iter()
            .map(|l| soql::literal(&l.salesforce_id))
            .collect();
        let fields = self.sf_field_list();
        let q = format!(
            "SELECT {} FROM {} WHERE Id IN ({})",
            fields.join(", "),
            self.sf_object,
            ids.join(", ")
        );
        let rows = self.salesforce.query(&q).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.get("Id")?.as_str()?.to_string(), r)))
            .collect())
    }

    /// Every record of the object, by 15-character id (one bulk query job): the linked records
    /// of the whole walk.
    async fn salesforce_rows_bulk(&self) -> Result<HashMap<String, Record>> {
        let mut query = BulkQuery::new(format!(
            "SELECT {} FROM {}",
            self.sf_field_list().join(", "),
            self.sf_object
        ));
        for (field, kind) in self.sf_types {
            query = query.typed(field, *kind);
        }
        let rows = self.salesforce.bulk_query(&query).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((short_id(r.get("Id")?.as_str()?).to_owned(), r)))
            .collect())
    }

    /// `Id` and the fields the comparison reads.
    fn sf_field_list(&self) -> Vec<String> {
        let mut fields = vec!["Id".to_string()];
        fields.extend(self.sf_fields.iter().filter(|f| *f != "Id").cloned());
        fields
    }

    /// The linked NetSuite records of a page, by internal id (one SuiteQL call).
    async fn netsuite_rows(&self, links: &[Link]) -> Result<HashMap<String, Record>> {
        let ids: Vec<String> = links
            .iter()
            .map(|l| suiteql::literal(&l.netsuite_id))
            .collect();
        let q = format!(
            "SELECT {} FROM {} WHERE {} IN ({})",
            self.ns_columns,
            self.ns_from,
            self.ns_id,
            ids.join(", ")
        );
        let rows = self.netsuite.suiteql(&q).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((id_text(r.get("id")?)?, r)))
            .collect())
    }

    /// Salesforce records that carry a NetSuite id and have no link (pages of up to 2,000
    /// records, one `MGET` of links each).
    async fn scan_salesforce(&self, condition: &str, findings: &mut Findings) -> Result<()> {
        let walk = KeysetQuery::new(format!("SELECT Id, NetSuite_Id__c FROM {}", self.sf_object))
            .filter(condition);
        let mut pages = std::pin::pin!(self.salesforce.query_pages_by_id(walk));
        while let Some(page) = pages.next().await {
            self.check_salesforce_page(&page?, findings).await?;
        }
        Ok(())
    }

    /// [`Self::scan_salesforce`] through one bulk query job, checked in `Id` order.
    async fn scan_salesforce_bulk(&self, condition: &str, findings: &mut Findings) -> Result<()> {
        let mut rows = self
            .salesforce
            .bulk_query(&BulkQuery::new(format!(
                "SELECT Id, NetSuite_Id__c FROM {} WHERE {condition}",
                self.sf_object
            )))
            .await?;
        rows.sort_by_key(|r| text(r, "Id").unwrap_or_default());
        for chunk in rows.chunks(BULK_SCAN_CHUNK) {
            self.check_salesforce_page(chunk, findings).await?;
        }
        Ok(())
    }

    /// Reports the records of a page that carry a NetSuite id and have no link.
    async fn check_salesforce_page(&self, rows: &[Record], findings: &mut Findings) -> Result<()> {
        {
            let ids: Vec<String> = rows.iter().filter_map(|r| text(r, "Id")).collect();
            let links = self
                .store
                .links_by_salesforce_many(self.link_kind, &ids)
                .await?;
            for (row, link) in rows.iter().zip(links) {
                if link.is_some() {
                    continue;
                }
                let id = text(row, "Id").unwrap_or_default();
                let netsuite = text(row, "NetSuite_Id__c").unwrap_or_default();
                let detail = format!(
                    "{} {id} carries NetSuite id {netsuite} but has no link",
                    self.sf_object
                );
                findings.push(self.drift(
                    DriftKind::UnlinkedInSalesforce,
                    (&id, &netsuite),
                    detail,
                ));
            }
        }
        Ok(())
    }

    /// NetSuite records the flow syncs that have no link (keyset pages by internal id, one
    /// `MGET` of links each, and one more for their customers when the flow needs them linked).
    async fn scan_netsuite(&self, condition: &str, findings: &mut Findings) -> Result<()> {
        let entity = self
            .ns_entity
            .map(|(column, _)| format!(", {column} AS entity"))
            .unwrap_or_default();
        let mut after = 0_u64;
        loop {
            let q = format!(
                "SELECT {id} AS id{entity} FROM {from} WHERE {condition} AND {id} > {after} ORDER BY {id}",
                id = self.ns_id,
                from = self.ns_from,
            );
            let (rows, more) = self.netsuite.suiteql_page(&q, NETSUITE_SCAN_PAGE).await?;
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get("id").and_then(id_text))
                .collect();
            let links = self
                .store
                .links_by_netsuite_many(self.link_kind, &ids)
                .await?;
            let unlinked: Vec<(String, Option<String>)> = rows
                .iter()
                .zip(&links)
                .filter(|(_, link)| link.is_none())
                .filter_map(|(row, _)| {
                    let id = row.get("id").and_then(id_text)?;
                    Some((id, row.get("entity").and_then(id_text)))
                })
                .collect();
            let expected = match self.ns_entity {
                None => unlinked.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
                Some((_, entity_kind)) => {
                    let entities: Vec<String> = unlinked
                        .iter()
                        .map(|(_, e)| e.clone().unwrap_or_default())
                        .collect();
                    let owners = self
                        .store
                        .links_by_netsuite_many(entity_kind, &entities)
                        .await?;
                    unlinked
                        .into_iter()
                        .zip(owners)
                        .filter(|(_, owner)| owner.is_some())
                        .map(|((id, _), _)| id)
                        .collect()
                }
            };
            for id in expected {
                let detail = format!("NetSuite record {id} is synced by this flow but has no link");
                findings.push(self.drift(DriftKind::UnlinkedInNetsuite, ("", &id), detail));
            }
            let last = ids.iter().filter_map(|id| id.parse::<u64>().ok()).max();
            match last {
                Some(last) if more => after = last,
                _ => return Ok(()),
            }
        }
    }
}

/// The 15-character form of a Salesforce id (links hold 18, a job may answer either).
fn short_id(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

/// A text value of a Salesforce field (numbers printed).
pub(crate) fn text(row: &Record, field: &str) -> Option<String> {
    crate::customers::mapping::text(row, field)
}

/// An id or other column as text (SuiteQL may answer numbers or strings).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A drift of one field between a linked pair.
pub(crate) fn field_drift(
    flow: Flow,
    kind: DriftKind,
    link: &Link,
    field: &str,
    salesforce: Option<String>,
    netsuite: Option<String>,
) -> Drift {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(empty)".into());
    Drift {
        flow,
        kind,
        salesforce_id: link.salesforce_id.clone(),
        netsuite_id: link.netsuite_id.clone(),
        field: Some(field.to_string()),
        detail: format!(
            "{field}: Salesforce has {}, NetSuite has {}",
            show(&salesforce),
            show(&netsuite)
        ),
        salesforce_value: salesforce,
        netsuite_value: netsuite,
    }
}

/// Makes the next sync of a NetSuite-owned record write even if NetSuite did not change (a
/// repair of a Salesforce copy someone edited): clears the link's NetSuite content hash under
/// the record's lock `<kind>:ns:<id>`, the one its sync takes.
pub(crate) async fn forget_netsuite_hash(
    store: &Arc<dyn Store>,
    kind: &str,
    netsuite_id: &str,
    lock_ttl: Duration,
    lock_wait: Duration,
) -> Result<()> {
    with_lock(
        store,
        &format!("{kind}:ns:{netsuite_id}"),
        lock_ttl,
        lock_wait,
        |lease| async move {
            if let Some(mut link) = store.link_by_netsuite(kind, netsuite_id).await? {
                link.netsuite_hash.clear();
                store.put_link(&link, &lease).await?;
            }
            Ok(())
        },
    )
    .await
}
