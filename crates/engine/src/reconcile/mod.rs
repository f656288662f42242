//! Reconciliation: do both systems agree across the ID map?
//!
//! A run of one [`Flow`] walks the flow's whole ID map (in pages of [`PAGE`] links: one SOQL
//! and one SuiteQL read a page) and then scans each side for records that should be linked and
//! are not. It reports every [`DriftKind`]:
//!
//! | kind | what |
//! |---|---|
//! | `missing_in_salesforce` | a link whose Salesforce record is gone |
//! | `missing_in_netsuite` | a link whose NetSuite record is gone |
//! | `unlinked_in_salesforce` | a Salesforce record carrying a NetSuite id, with no link |
//! | `unlinked_in_netsuite` | a NetSuite record the flow syncs, with no link |
//! | `field_differs` | a key field or an amount differs between the linked records |
//! | `status_differs` | a status (active, order or invoice status) drifted |
//!
//! Each [`Drift`] names its records, so [`Reconciler::repair`] can re-sync it from the side
//! that owns it in one call. A run reads only: it writes nothing to either side or to Redis
//! except its own last counts (the status value `reconcile:<flow>`, read by `/metrics`).
//!
//! The flows: `customers` ([`customers`]), `products` ([`products`]), `orders` ([`orders`]),
//! `invoices` ([`invoices`], credit memos included). Each service reconciles its own.

mod customers;
mod invoices;
mod orders;
mod products;
pub mod runs;
mod scan;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::result::SyncResult;
use isthmus_store::StatusValues;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Links compared per page (one SOQL and one SuiteQL read).
pub const PAGE: usize = 200;
/// Drift items a report lists by default (the counts go on counting past it).
pub const DEFAULT_MAX_ITEMS: usize = 1000;
/// How long a flow's last counts are kept.
const STATUS_TTL: Duration = Duration::from_secs(400 * 86_400);

/// The flows that can be reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Customers,
    Products,
    Orders,
    Invoices,
}

impl Flow {
    pub const ALL: [Flow; 4] = [
        Flow::Customers,
        Flow::Products,
        Flow::Orders,
        Flow::Invoices,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Products => "products",
            Self::Orders => "orders",
            Self::Invoices => "invoices",
        }
    }

    /// The service that reconciles (and repairs) the flow.
    pub fn service(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Products => "catalog",
            Self::Orders => "orders",
            Self::Invoices => "finance",
        }
    }

    /// A flow by name; `InvalidArgument` naming the valid ones otherwise.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "unknown reconciliation flow '{}': use customers, products, orders or invoices",
                    isthmus_proto::shown(name)
                ))
            })
    }
}

/// What kind of disagreement a drift is (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    MissingInSalesforce,
    MissingInNetsuite,
    UnlinkedInSalesforce,
    UnlinkedInNetsuite,
    FieldDiffers,
    StatusDiffers,
}

impl DriftKind {
    pub const ALL: [DriftKind; 6] = [
        DriftKind::MissingInSalesforce,
        DriftKind::MissingInNetsuite,
        DriftKind::UnlinkedInSalesforce,
        DriftKind::UnlinkedInNetsuite,
        DriftKind::FieldDiffers,
        DriftKind::StatusDiffers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingInSalesforce => "missing_in_salesforce",
            Self::MissingInNetsuite => "missing_in_netsuite",
            Self::UnlinkedInSalesforce => "unlinked_in_salesforce",
            Self::UnlinkedInNetsuite => "unlinked_in_netsuite",
            Self::FieldDiffers => "field_differs",
            Self::StatusDiffers => "status_differs",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "unknown drift kind '{}'",
                    isthmus_proto::shown(name)
                ))
            })
    }
}

/// One disagreement between the two systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub flow: Flow,
    pub kind: DriftKind,
    /// Empty when the record exists only in NetSuite.
    pub salesforce_id: String,
    /// Empty when the record exists only in Salesforce.
    pub netsuite_id: String,
    /// The field that differs (`field_differs`, `status_differs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netsuite_value: Option<String>,
    /// In plain words.
    pub detail: String,
}

/// What a reconciliation of one flow found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub flow: Flow,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    /// Links compared.
    pub links_checked: u64,
    /// Every drift kind with its count (zeros included).
    pub counts: BTreeMap<DriftKind, u64>,
    /// The drifts, up to the run's `max_items`.
    pub drifts: Vec<Drift>,
    /// More drifts were found than listed.
    pub truncated: bool,
}

impl Report {
    pub fn new(flow: Flow) -> Self {
        Self {
            flow,
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            links_checked: 0,
            counts: DriftKind::ALL.into_iter().map(|k| (k, 0)).collect(),
            drifts: Vec::new(),
            truncated: false,
        }
    }

    /// All drifts counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The report as a table: counts per kind, then one line per listed drift.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} — {} links checked, {} drifts",
            self.flow.as_str(),
            self.links_checked,
            self.total()
        );
        for (kind, count) in &self.counts {
            let _ = writeln!(out, "  {:<24} {count:>6}", kind.as_str());
        }
        if !self.drifts.is_empty() {
            let _ = writeln!(
                out,
                "\n  {:<24} {:<18} {:<10} {:<28} detail",
                "kind", "salesforce", "netsuite", "field"
            );
            for d in &self.drifts {
                let _ = writeln!(
                    out,
                    "  {:<24} {:<18} {:<10} {:<28} {}",
                    d.kind.as_str(),
                    d.salesforce_id,
                    d.netsuite_id,
                    d.field.as_deref().unwrap_or("-"),
                    d.detail
                );
            }
        }
        if self.truncated {
            let _ = writeln!(
                out,
                "  … {} more not listed",
                self.total() - self.drifts.len() as u64
            );
        }
        out
    }
}

/// Collects drifts into a report, listing at most `max_items`.
pub(crate) struct Findings {
    pub report: Report,
    max_items: usize,
}

impl Findings {
    pub fn new(flow: Flow, max_items: usize) -> Self {
        Self {
            report: Report::new(flow),
            max_items,
        }
    }

    pub fn push(&mut self, drift: Drift) {
        *self.report.counts.entry(drift.kind).or_default() += 1;
        if self.report.drifts.len() < self.max_items {
            self.report.drifts.push(drift);
        } else {
            self.report.truncated = true;
        }
    }

    pub fn finish(mut self) -> Report {
        self.report.finished_at_ms = now_ms();
        self.report
    }
}

/// How to run a reconciliation.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// Drift items listed (counts are complete either way).
    pub max_items: usize,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            max_items: DEFAULT_MAX_ITEMS,
        }
    }
}

/// What a service reconciles and repairs (each service: its own flows).
#[async_trait::async_trait]
pub trait Reconciler: Send + Sync {
    /// The flows this service owns.
    fn flows(&self) -> Vec<Flow>;
    /// Compares both sides of `flow` and keeps the counts as its last run.
    async fn reconcile(&self, flow: Flow, options: &ReconcileOptions) -> Result<Report>;
    /// Re-syncs one drift from the side that owns it.
    async fn repair(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult>;
}

/// The counts of a flow's last run: what `/metrics` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub flow: Flow,
    pub finished_at_ms: i64,
    pub links_checked: u64,
    pub counts: BTreeMap<DriftKind, u64>,
}

fn status_name(flow: Flow) -> String {
    format!("reconcile:{}", flow.as_str())
}

/// Keeps a run's counts as the flow's last run, its report and its place in the history.
pub async fn save_last_run(store: &dyn StatusValues, report: &Report) -> Result<()> {
    let last = LastRun {
        flow: report.flow,
        finished_at_ms: report.finished_at_ms,
        links_checked: report.links_checked,
        counts: report.counts.clone(),
    };
    let bytes = serde_json::to_vec(&last)
        .map_err(|e| EngineError::InvalidArgument(format!("reconcile counts: {e}")))?;
    store
        .put_status(&status_name(report.flow), &bytes, STATUS_TTL)
        .await?;
    runs::keep(store, report, &last).await;
    Ok(())
}

/// The last run of every flow that ran (an unreadable value counts as none).
pub async fn last_runs(store: &dyn StatusValues) -> Result<Vec<LastRun>> {
    let mut runs = Vec::new();
    for flow in Flow::ALL {
        if let Some(bytes) = store.status(&status_name(flow)).await? {
            if let Ok(last) = serde_json::from_slice(&bytes) {
                runs.push(last);
            }
        }
    }
    Ok(runs)
}

/// Runs `flow` with `reconciler` and keeps its counts (what a schedule and an API call do).
pub async fn run_and_keep(
    reconciler: &dyn Reconciler,
    store: &dyn StatusValues,
    flow: Flow,
    options: &ReconcileOptions,
) -> Result<Report> {
    let started = Report::new(flow);
    runs::publish(store, &started, "running", "links", None).await;
    let report = match reconciler.reconcile(flow, options).await {
        Ok(report) => report,
        Err(err) => {
            runs::publish(store, &started, "failed", "", Some(err.to_string())).await;
            return Err(err);
        }
    };
    save_last_run(store, &report).await?;
    runs::publish(store, &report, "done", "", None).await;
    Ok(report)
}

/// Of two syncs a repair ran, the one that changed something (the later one when both did).
pub(crate) fn changed_of(first: SyncResult, second: SyncResult) -> SyncResult {
    let unchanged = |r: &SyncResult| r.outcome == crate::result::Outcome::Unchanged;
    if unchanged(&second) && !unchanged(&first) {
        first
    } else {
        second
    }
}

/// `Ok` when `flow` is the one `service` reconciles (`own`), else the error naming the service
/// that does.
pub(crate) fn owned(flow: Flow, own: Flow, service: &str) -> Result<()> {
    if flow == own {
        return Ok(());
    }
    Err(EngineError::InvalidArgument(format!(
        "the {service} service does not reconcile {}: ask the {} service",
        flow.as_str(),
        flow.service()
    )))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// NetSuite transaction status codes (SuiteQL `transaction.status`, sometimes `Type:Code`) by
/// transaction type, with the names the record API shows as the status's `refName`, which is
/// what the flows write to Salesforce.
pub(crate) fn transaction_status_name(transaction_type: &str, code: &str) -> Option<&'static str> {
    let code = code.rsplit(':').next().unwrap_or(code).trim();
    let table: &[(&str, &str)] = match transaction_type {
        "SalesOrd" => &[
            ("A", "Pending Approval"),
            ("B", "Pending Fulfillment"),
            ("C", "Cancelled"),
            ("D", "Partially Fulfilled"),
            ("E", "Pending Billing/Partially Fulfilled"),
            ("F", "Pending Billing"),
            ("G", "Billed"),
            ("H", "Closed"),
        ],
        "CustInvc" => &[("A", "Open"), ("B", "Paid In Full"), ("V", "Voided")],
        "CustCred" => &[("A", "Open"), ("B", "Fully Applied"), ("V", "Voided")],
        _ => &[],
    };
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Two amounts agree to the cent.
pub(crate) fn same_amount(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 0.005,
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(kind: DriftKind) -> Drift {
        Drift {
            flow: Flow::Customers,
            kind,
            salesforce_id: "001000000000001AAA".into(),
            netsuite_id: "42".into(),
            field: None,
            salesforce_value: None,
            netsuite_value: None,
            detail: "x".into(),
        }
    }

    #[test]
    fn findings_count_everything_and_list_up_to_the_cap() {
        let mut findings = Findings::new(Flow::Customers, 2);
        for kind in [
            DriftKind::FieldDiffers,
            DriftKind::FieldDiffers,
            DriftKind::MissingInNetsuite,
        ] {
            findings.push(drift(kind));
        }
        let report = findings.finish();
        assert_eq!(report.total(), 3);
        assert_eq!(report.counts[&DriftKind::FieldDiffers], 2);
        assert_eq!(report.counts[&DriftKind::StatusDiffers], 0);
        assert_eq!(report.drifts.len(), 2);
        assert!(report.truncated);
        let table = report.table();
        assert!(table.contains("field_differs") && table.contains("1 more not listed"));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for flow in Flow::ALL {
            assert_eq!(Flow::parse(flow.as_str()).unwrap(), flow);
        }
        for kind in DriftKind::ALL {
            assert_eq!(DriftKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert!(Flow::parse("vendors").is_err());
        assert!(DriftKind::parse("").is_err());
        assert_eq!(
            serde_json::to_value(drift(DriftKind::MissingInSalesforce)).unwrap()["kind"],
            "missing_in_salesforce"
        );
    }

    #[test]
    fn status_codes_read_as_the_record_api_names_them() {
        assert_eq!(transaction_status_name("SalesOrd", "G"), Some("Billed"));
        assert_eq!(
            transaction_status_name("SalesOrd", "SalesOrd:B"),
            Some("Pending Fulfillment")
        );
        assert_eq!(
            transaction_status_name("CustCred", "B"),
            Some("Fully Applied")
        );
        assert_eq!(transaction_status_name("CustInvc", "Z"), None);
    }

    #[test]
    fn amounts_agree_to_the_cent() {
        assert!(same_amount(Some(10.0), Some(10.004)));
        assert!(!same_amount(Some(10.0), Some(10.01)));
        assert!(!same_amount(Some(10.0), None));
    }
}
