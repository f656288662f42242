//! A won Opportunity's order made from its synced quote's estimate (`orders.orders_from_quotes`):
//! when the Opportunity's `SyncedQuoteId` names a Quote whose estimate is linked, a new order is
//! created by NetSuite's estimate → sales order transform (one call, as the upsert it replaces),
//! so the order's `createdFrom` is the estimate and NetSuite marks the estimate Processed. The
//! order carries the Opportunity's body fields and external id (the Opportunity id), so its link,
//! read-back and idempotency are the orders flow's own; its lines are the estimate's, which are
//! the synced quote's. The estimate's new status then goes back to the Quote.
//!
//! An Opportunity without a synced quote, or whose synced quote was never synced to NetSuite,
//! gets its order exactly as without this option (the second with a warning).

use serde_json::{json, Map};

use super::{ref_name, OrderFlows, ESTIMATE_LINK_KIND};
use crate::customers::mapping::{text, Record};
use crate::error::Result;

/// The synced quote whose estimate a new order is made from.
pub(super) struct SyncedEstimate {
    pub(super) quote_id: String,
    pub(super) estimate_id: String,
}

impl OrderFlows {
    /// The Opportunity's synced quote and its estimate, when the option is on and the quote has
    /// been synced (Redis only); a warning in `warnings` when the quote has no estimate.
    pub(super) async fn synced_estimate(
        &self,
        opportunity: &Record,
        warnings: &mut Vec<String>,
    ) -> Result<Option<SyncedEstimate>> {
        if !self.config.orders_from_quotes {
            return Ok(None);
        }
        let Some(quote_id) = text(opportunity, "SyncedQuoteId") else {
            return Ok(None);
        };
        match self
            .store
            .link_by_salesforce(ESTIMATE_LINK_KIND, &quote_id)
            .await?
        {
            Some(link) => Ok(Some(SyncedEstimate {
                quote_id,
                estimate_id: link.netsuite_id,
            })),
            None => {
                warnings.push(format!(
                    "synced quote {quote_id} has no NetSuite estimate; the order is made from the \
                     opportunity's products (sync the quote first to link them)"
                ));
                Ok(None)
            }
        }
    }

    /// Creates the Opportunity's order from the estimate (`body` without its lines sets the
    /// rest, with the Opportunity's id as external id) and writes the estimate's status back to
    /// the Quote. The new order's internal id.
    pub(super) async fn order_from_estimate(
        &self,
        opportunity_id: &str,
        mut body: Record,
        from: &SyncedEstimate,
    ) -> Result<String> {
        body.remove("item");
        body.insert("externalId".into(), json!(opportunity_id));
        if !self.config.order_status.is_empty() {
            body.insert(
                "orderStatus".into(),
                json!({ "id": self.config.order_status }),
            );
        }
        let order_id = self
            .netsuite
            .transform("estimate", &from.estimate_id, "salesOrder", &body)
            .await?;
        if let Some(estimate) = self.read_estimate(&from.estimate_id).await? {
            let status = ref_name(&estimate, "status").unwrap_or_default();
            self.write_back_quote(&from.quote_id, &Map::new(), &from.estimate_id, &status)
                .await?;
        }
        Ok(order_id)
    }
}
