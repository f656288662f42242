//! The first order of a lead or prospect makes it a customer (`customers.lifecycle`).
//!
//! NetSuite itself moves a lead or prospect to `CUSTOMER-Closed Won` when a sales order is
//! created for it. When the configuration can never differ from that (the default: customers
//! created as customers, the customer stage's status `13`), the flow adds nothing and costs no
//! call. Otherwise, before a new order is written, the flow reads the customer's stage (one GET
//! of two fields); for a lead or a prospect it reads them again after the order and writes the
//! configured customer status when NetSuite's promotion left another one (or none), so the
//! customer ends in the configured status whatever NetSuite's default.
//!
//! Guarantees: a customer already in the customer stage before the order is never written here
//! (its status, e.g. a renewal, is kept); only a new order is looked at.
//! Not done: promotion by an order entered in NetSuite (NetSuite's own rule alone); a retry after
//! an attempt that wrote the order but failed before the status finds a customer and leaves
//! NetSuite's status in place. The customer's lock is not taken, as no other flow writes
//! `entityStatus` on an existing customer.

use isthmus_netsuite::GetOptions;
use serde_json::{json, Map};

use super::OrderFlows;
use crate::config::Stage;
use crate::customers::mapping::Record;
use crate::error::Result;

/// The status NetSuite gives a lead or prospect on its first sales order (`CUSTOMER-Closed Won`).
pub const NETSUITE_PROMOTES_TO: &str = "13";

impl OrderFlows {
    /// Whether the order about to be created must be followed by [`Self::promote`]: the
    /// lifecycle may differ from NetSuite's own and the customer is a lead or a prospect.
    pub(super) async fn needs_promotion(&self, customer_id: &str) -> Result<bool> {
        let lifecycle = &self.customers_config.lifecycle;
        if lifecycle.new_account_stage == Stage::Customer
            && lifecycle.status_of(Stage::Customer).as_str() == NETSUITE_PROMOTES_TO
        {
            return Ok(false);
        }
        let customer = self.customer_status(customer_id).await?;
        Ok(matches!(
            field_id(&customer, "stage"),
            Some("LEAD" | "PROSPECT")
        ))
    }

    /// After the first order of a lead or prospect: the configured customer status, written
    /// only when NetSuite's promotion did not leave it.
    pub(super) async fn promote(&self, customer_id: &str) -> Result<()> {
        let wanted = self.customers_config.lifecycle.status_of(Stage::Customer);
        let customer = self.customer_status(customer_id).await?;
        if field_id(&customer, "stage") == Some("CUSTOMER")
            && field_id(&customer, "entityStatus") == Some(wanted.as_str())
        {
            return Ok(());
        }
        let mut body = Map::new();
        body.insert("entityStatus".into(), json!({ "id": wanted.as_str() }));
        self.netsuite
            .update("customer", customer_id, &body, &[])
            .await?;
        Ok(())
    }

    /// The customer's status and stage (one GET of those two fields).
    async fn customer_status(&self, customer_id: &str) -> Result<Record> {
        let opts = GetOptions {
            expand_sub_resources: false,
            fields: vec!["entityStatus".into(), "stage".into()],
        };
        Ok(self.netsuite.get("customer", customer_id, &opts).await?)
    }
}

/// The id of a list value or reference as the record API shows it (`{"id": "PROSPECT", …}`).
fn field_id<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field)?.get("id")?.as_str()
}
