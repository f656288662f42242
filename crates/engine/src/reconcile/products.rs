//! Reconciliation of item → Product2: name, product code and active flag compared; products
//! carrying an item id and active items of the synced types checked for links.
//!
//! Repairs: every drift re-syncs the item (NetSuite owns products, so the sync is forced past
//! its echo check): a product edited in Salesforce is written back, a deleted product is recreated (upsert by `NetSuite_Id__c`), a
//! deleted item deactivates its product.

use crate::result::SyncResult;
use isthmus_store::Link;

use isthmus_salesforce::BulkField;

use super::scan::{field_drift, text, FlowSpec};
use super::{owned, Drift, DriftKind, Flow, ReconcileOptions, Reconciler, Report};
use crate::catalog::{CatalogFlows, LINK_KIND};
use crate::customers::mapping::Record;
use crate::error::Result;

impl CatalogFlows {
    fn compare_product(&self, link: &Link, product: &Record, item: &Record) -> Vec<Drift> {
        let mut drifts = Vec::new();
        let code = text(item, "itemid");
        let name = text(item, "displayname").or_else(|| code.clone());
        for (field, salesforce, netsuite) in [
            ("Name", text(product, "Name"), name),
            ("ProductCode", text(product, "ProductCode"), code),
        ] {
            if salesforce != netsuite {
                drifts.push(field_drift(
                    Flow::Products,
                    DriftKind::FieldDiffers,
                    link,
                    field,
                    salesforce,
                    netsuite,
                ));
            }
        }
        let inactive = matches!(text(item, "isinactive").as_deref(), Some("T" | "true"));
        let item_type = text(item, "itemtype").unwrap_or_default();
        let active = self.config.item_types.contains(&item_type)
            && !(inactive && self.config.deactivate_inactive_items);
        let is_active = text(product, "IsActive");
        if is_active.as_deref() != Some(if active { "true" } else { "false" }) {
            drifts.push(field_drift(
                Flow::Products,
                DriftKind::StatusDiffers,
                link,
                "IsActive",
                is_active,
                Some(active.to_string()),
            ));
        }
        drifts
    }
}

#[async_trait::async_trait]
impl Reconciler for CatalogFlows {
    fn flows(&self) -> Vec<Flow> {
        vec![Flow::Products]
    }

    async fn reconcile(&self, flow: Flow, options: &ReconcileOptions) -> Result<Report> {
        owned(flow, Flow::Products, "catalog")?;
        let types: Vec<String> = self
            .config
            .item_types
            .iter()
            .map(|t| isthmus_netsuite::suiteql::literal(t))
            .collect();
        let compare = |link: &Link, product: &Record, item: &Record| {
            self.compare_product(link, product, item)
        };
        FlowSpec {
            flow,
            link_kind: LINK_KIND,
            salesforce: &self.salesforce,
            netsuite: &self.netsuite,
            store: &self.store,
            sf_object: "Product2",
            sf_fields: vec!["Name".into(), "ProductCode".into(), "IsActive".into()],
            ns_from: "item i",
            ns_id: "i.id",
            ns_columns:
                "i.id AS id, i.itemid AS itemid, i.displayname AS displayname, i.isinactive AS isinactive, i.itemtype AS itemtype"
                    .into(),
            sf_expected: Some("NetSuite_Id__c != null".into()),
            ns_expected: Some(format!(
                "i.itemtype IN ({}) AND i.isinactive = 'F'",
                types.join(", ")
            )),
            ns_entity: None,
            compare: &compare,
            bulk_threshold: self.bulk_threshold,
            sf_types: &[("IsActive", BulkField::Boolean)],
        }
        .run(options.max_items)
        .await
    }

    async fn repair(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult> {
        owned(drift.flow, Flow::Products, "catalog")?;
        let item = super::customers::netsuite_side(drift)?;
        let delete = drift.kind == DriftKind::MissingInNetsuite;
        if !delete {
            // The item did not change, its product did: the sync must not take it for an echo.
            super::scan::forget_netsuite_hash(
                &self.store,
                LINK_KIND,
                item.as_str(),
                self.config.lock_ttl(),
                self.config.lock_wait(),
            )
            .await?;
        }
        self.sync_item(&item, delete, false, trace_id).await
    }
}
