//! Which scope each RPC needs: one table, mirroring the gateway's REST routes (a sync a
//! Salesforce caller makes needs `salesforce`, one a NetSuite caller makes `netsuite`, an admin
//! write `admin`, an admin read `viewer`, which admin also has; reading a link or a job, like
//! `/v1/links/*` and `/v1/jobs/{id}`, takes any caller). gRPC health and reflection are open.
//!
//! An RPC missing from the table needs `admin`, so a new RPC is closed until it is listed (a
//! test walks every RPC of the descriptor set and fails on one that is not).

use crate::keys::{Caller, Scope};

/// What a call needs before the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: gRPC health and reflection.
    Open,
    /// Any authenticated caller, whatever its scopes.
    AnyCaller,
    /// A caller with this scope (`admin` has every scope; `viewer` is had by viewer and admin).
    Scope(Scope),
}

impl Need {
    /// Whether `caller` may make a call that needs this.
    pub fn allows(self, caller: &Caller) -> bool {
        match self {
            Need::Open | Need::AnyCaller => true,
            Need::Scope(scope) => caller.may(scope),
        }
    }

    /// How the need reads in a refusal: "the viewer or admin scope".
    pub fn describe(self) -> &'static str {
        match self {
            Need::Open | Need::AnyCaller => "any credential",
            Need::Scope(Scope::Salesforce) => "the salesforce (or admin) scope",
            Need::Scope(Scope::NetSuite) => "the netsuite (or admin) scope",
            Need::Scope(Scope::Viewer) => "the viewer or admin scope",
            Need::Scope(Scope::Admin) => "the admin scope",
        }
    }
}

/// Services that answer without a credential (prefixes of the request path).
const OPEN: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

const SALESFORCE: Need = Need::Scope(Scope::Salesforce);
const NETSUITE: Need = Need::Scope(Scope::NetSuite);
const VIEWER: Need = Need::Scope(Scope::Viewer);
const ADMIN: Need = Need::Scope(Scope::Admin);

/// Every Isthmus RPC (`package.Service/Method`) and what it needs.
pub const RPC_NEEDS: &[(&str, Need)] = &[
    ("isthmus.customers.v1.CustomerSync/SyncAccount", SALESFORCE),
    ("isthmus.customers.v1.CustomerSync/SyncCustomer", NETSUITE),
    ("isthmus.customers.v1.CustomerSync/GetLink", Need::AnyCaller),
    (
        "isthmus.customers.v1.CustomerSync/StartAccountBackfill",
        ADMIN,
    ),
    ("isthmus.customers.v1.CustomerSync/GetBackfill", VIEWER),
    ("isthmus.customers.v1.CustomerSync/ListConflicts", VIEWER),
    ("isthmus.customers.v1.CustomerSync/GetConflict", VIEWER),
    // `/v1/salesforce/conflicts/{id}/resolve` (the record panel) and `/v1/conflicts/…` (admin).
    (
        "isthmus.customers.v1.CustomerSync/ResolveConflict",
        SALESFORCE,
    ),
    ("isthmus.customers.v1.CustomerSync/ErasePerson", ADMIN),
    ("isthmus.catalog.v1.CatalogSync/SyncItem", NETSUITE),
    ("isthmus.catalog.v1.CatalogSync/StartCatalogRun", ADMIN),
    ("isthmus.catalog.v1.CatalogSync/GetCatalogRun", VIEWER),
    (
        "isthmus.catalog.v1.CatalogSync/GetProductLink",
        Need::AnyCaller,
    ),
    ("isthmus.orders.v1.OrderSync/SyncOpportunity", SALESFORCE),
    ("isthmus.orders.v1.OrderSync/SyncQuote", SALESFORCE),
    ("isthmus.orders.v1.OrderSync/SyncEstimate", NETSUITE),
    ("isthmus.orders.v1.OrderSync/SyncSalesOrder", NETSUITE),
    ("isthmus.orders.v1.OrderSync/SyncFulfillment", NETSUITE),
    ("isthmus.orders.v1.OrderSync/ScanRenewals", ADMIN),
    ("isthmus.orders.v1.OrderSync/GetOrderLink", Need::AnyCaller),
    ("isthmus.finance.v1.FinanceSync/SyncInvoice", NETSUITE),
    ("isthmus.finance.v1.FinanceSync/SyncCreditMemo", NETSUITE),
    ("isthmus.finance.v1.FinanceSync/SyncPayment", NETSUITE),
    (
        "isthmus.finance.v1.FinanceSync/SyncAccountSummary",
        SALESFORCE,
    ),
    ("isthmus.finance.v1.FinanceSync/SyncSubsidiaries", ADMIN),
    ("isthmus.jobs.v1.JobQueue/GetJob", Need::AnyCaller),
    ("isthmus.jobs.v1.JobQueue/ListDeadLetters", VIEWER),
    ("isthmus.jobs.v1.JobQueue/GetDeadLetter", VIEWER),
    ("isthmus.jobs.v1.JobQueue/ReplayDeadLetter", ADMIN),
    ("isthmus.jobs.v1.JobQueue/DiscardDeadLetter", ADMIN),
    ("isthmus.jobs.v1.JobQueue/GetQueueDepth", VIEWER),
    ("isthmus.jobs.v1.JobQueue/ListAudit", VIEWER),
    ("isthmus.reconcile.v1.Reconciliation/Reconcile", ADMIN),
    ("isthmus.reconcile.v1.Reconciliation/Repair", ADMIN),
    ("isthmus.reconcile.v1.Reconciliation/LastRuns", VIEWER),
];

/// What a call to `path` (`/package.Service/Method`) needs; `admin` for an unlisted RPC.
pub fn need(path: &str) -> Need {
    if OPEN.iter().any(|prefix| path.starts_with(prefix)) {
        return Need::Open;
    }
    let rpc = path.strip_prefix('/').unwrap_or(path);
    RPC_NEEDS
        .iter()
        .find(|(name, _)| *name == rpc)
        .map_or(ADMIN, |(_, need)| *need)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn caller(scopes: &[Scope]) -> Caller {
        Caller {
            name: "t".into(),
            scopes: scopes.to_vec(),
        }
    }

    #[test]
    fn every_rpc_of_the_contracts_is_in_the_table() {
        let set = prost_types::FileDescriptorSet::decode(isthmus_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut rpcs = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    rpcs.push(format!(
                        "{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        assert!(rpcs.len() > 30, "{rpcs:?}");
        for rpc in &rpcs {
            assert!(
                RPC_NEEDS.iter().any(|(name, _)| name == rpc),
                "{rpc} has no entry in RPC_NEEDS"
            );
        }
        for (name, _) in RPC_NEEDS {
            assert!(rpcs.iter().any(|r| r == name), "{name} is not an RPC");
        }
    }

    #[test]
    fn scopes_mirror_the_rest_routes() {
        let sf = caller(&[Scope::Salesforce]);
        let viewer = caller(&[Scope::Viewer]);
        let admin = caller(&[Scope::Admin]);
        let sync = need("/isthmus.customers.v1.CustomerSync/SyncAccount");
        assert!(sync.allows(&sf) && sync.allows(&admin) && !sync.allows(&viewer));
        let audit = need("/isthmus.jobs.v1.JobQueue/ListAudit");
        assert!(audit.allows(&viewer) && audit.allows(&admin) && !audit.allows(&sf));
        let replay = need("/isthmus.jobs.v1.JobQueue/ReplayDeadLetter");
        assert!(replay.allows(&admin) && !replay.allows(&viewer));
        assert_eq!(need("/isthmus.orders.v1.OrderSync/Unknown"), ADMIN);
        assert_eq!(need("/grpc.health.v1.Health/Check"), Need::Open);
        assert_eq!(
            need("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Need::Open
        );
    }
}
