//! Resolving a parked conflict: a person picks Salesforce's value, NetSuite's, or types one.
//!
//! Under the account's lock, the chosen value is written to each side that does not hold it
//! yet (only that field: one `PATCH` per side at most), the link's snapshot takes the value,
//! the conflict leaves the link's parked list, and only then is it marked resolved in the log.
//! A crash in between leaves it parked; resolving again writes the same values again. The
//! link's content hashes are cleared, so the next sync of either side compares field by field
//! and carries over whatever else changed while the record was parked.

use isthmus_salesforce::id::SalesforceId;
use isthmus_store::{Conflict, ConflictQuery, ConflictResolution, Lease};

use super::doc::clean;
use super::mapping::{self, Record};
use super::policy::{self, parse_address};
use super::{now_ms, CustomerFlows, LINK_KIND};
use crate::error::{EngineError, Result};
use crate::lock::{ensure_held, with_lock};

/// A person's choice for a parked conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The value Salesforce held when the conflict was found.
    Salesforce,
    /// The value NetSuite held when the conflict was found.
    NetSuite,
    /// A value of the person's own (`None` or blank: empty). An address is its JSON object
    /// (`{"street","city","state","postal_code","country"}`, each optional).
    Value(Option<String>),
}

impl Choice {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Salesforce => "salesforce",
            Self::NetSuite => "netsuite",
            Self::Value(_) => "value",
        }
    }
}

impl CustomerFlows {
    /// Conflicts of the log, newest first.
    pub async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>> {
        Ok(self.store.conflicts(query).await?)
    }

    /// How many conflicts are in `state` (`None`: in the log).
    pub async fn conflict_count(&self, state: Option<isthmus_store::ConflictState>) -> Result<u64> {
        Ok(self.store.conflict_count(state).await?)
    }

    pub async fn conflict(&self, id: &str) -> Result<Option<Conflict>> {
        Ok(self.store.get_conflict(id).await?)
    }

    /// Applies `choice` to a parked conflict and unparks it (see the module doc).
    pub async fn resolve_conflict(
        &self,
        id: &str,
        choice: Choice,
        trace_id: &str,
    ) -> Result<Conflict> {
        let conflict = self
            .store
            .get_conflict(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no conflict {id}")))?;
        if !conflict.is_parked() {
            return Err(EngineError::Unprocessable(format!(
                "conflict {id} is already resolved"
            )));
        }
        let value = chosen_value(&conflict, &choice)?;
        if !self.config.units().any(|u| u == conflict.field) {
            return Err(EngineError::Unprocessable(format!(
                "field '{}' is no longer mapped; map it again to resolve conflict {id}",
                conflict.field
            )));
        }
        let account = SalesforceId::parse(&conflict.salesforce_id)
            .map_err(|e| EngineError::Unprocessable(format!("conflict {id}: {e}")))?;
        let resolution = ConflictResolution {
            winner: choice.as_str().into(),
            value,
            by: "person".into(),
            trace_id: trace_id.into(),
            resolved_at_ms: now_ms(),
        };
        let resource = format!("{LINK_KIND}:sf:{account}");
        let resolved = with_lock(
            &self.store,
            &resource,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.apply_resolution(&conflict, &account, &resolution, lease),
        )
        .await?;
        tracing::info!(
            conflict_id = %id,
            salesforce_id = %conflict.salesforce_id,
            netsuite_id = %conflict.netsuite_id,
            field = %conflict.field,
            choice = %resolution.winner,
            value = ?resolution.value,
            trace_id,
            "conflict resolved"
        );
        Ok(resolved)
    }

    async fn apply_resolution(
        &self,
        conflict: &Conflict,
        account_id: &SalesforceId,
        resolution: &ConflictResolution,
        lease: Lease,
    ) -> Result<Conflict> {
        let unit = conflict.field.as_str();
        let account = self.read_account(account_id).await?;
        let customer = self
            .read_customer(&conflict.netsuite_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "NetSuite customer {} does not exist",
                    conflict.netsuite_id
                ))
            })?;
        let salesforce = mapping::from_account(&self.config, &account);
        let netsuite = mapping::from_customer(&self.config, &customer, &[]);
        let differs = |doc: &super::CustomerDoc| {
            policy::units(&self.config, doc)
                .get(unit)
                .cloned()
                .flatten()
                != resolution.value
        };
        let (write_salesforce, write_netsuite) = (differs(&salesforce), differs(&netsuite));
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        if write_salesforce {
            let mut doc = salesforce;
            policy::set_unit(&mut doc, unit, &resolution.value);
            let body = only(
                mapping::account_body(&self.config, &doc),
                &self.unit_fields(unit, false),
            );
            self.salesforce
                .update("Account", account_id.as_str(), &body)
                .await?;
        }
        if write_netsuite {
            let mut doc = netsuite;
            policy::set_unit(&mut doc, unit, &resolution.value);
            let fields = self.unit_fields(unit, true);
            let body = only(mapping::customer_body(&self.config, &doc), &fields);
            let replace: &[&str] = if body.contains_key("addressBook") {
                &["addressBook"]
            } else {
                &[]
            };
            self.netsuite
                .update("customer", &conflict.netsuite_id, &body, replace)
                .await?;
        }
        if let Some(mut link) = self
            .store
            .link_by_salesforce(LINK_KIND, account_id.as_str())
            .await?
        {
            link.fields.insert(unit.into(), resolution.value.clone());
            link.parked.retain(|parked| *parked != conflict.id);
            link.salesforce_hash.clear();
            link.netsuite_hash.clear();
            link.synced_at_ms = now_ms();
            self.store.put_link(&link, &lease).await?;
        }
        self.store
            .resolve_conflict(&conflict.id, resolution)
            .await?
            .ok_or_else(|| {
                EngineError::Unprocessable(format!("conflict {} is already resolved", conflict.id))
            })
    }

    fn unit_fields(&self, unit: &str, netsuite: bool) -> Vec<String> {
        mapping::unit_fields(&self.config, unit, netsuite)
    }
}

/// The value a choice stands for, checked: an address must be an address object, and is kept
/// in its canonical JSON.
fn chosen_value(conflict: &Conflict, choice: &Choice) -> Result<Option<String>> {
    let value = match choice {
        Choice::Salesforce => conflict.salesforce_value.clone(),
        Choice::NetSuite => conflict.netsuite_value.clone(),
        Choice::Value(value) => clean(value.as_deref()),
    };
    if !matches!(conflict.field.as_str(), "billing" | "shipping") {
        return Ok(value);
    }
    let Some(raw) = value else {
        return Ok(None);
    };
    let address = parse_address(&raw).map_err(|e| {
        EngineError::InvalidArgument(format!("the value for '{}' is {e}", conflict.field))
    })?;
    Ok(address.map(|a| serde_json::to_string(&a).unwrap_or_default()))
}

/// A body with only `fields`.
fn only(mut body: Record, fields: &[String]) -> Record {
    body.retain(|field, _| fields.contains(field));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(field: &str) -> Conflict {
        Conflict {
            id: "0123456789abcdef0123456789abcdef".into(),
            kind: LINK_KIND.into(),
            flow: "customers.account_to_customer".into(),
            salesforce_id: "001000000000001AAA".into(),
            netsuite_id: "42".into(),
            field: field.into(),
            salesforce_value: Some("A".into()),
            netsuite_value: Some("B".into()),
            last_synced_value: None,
            policy: "manual".into(),
            resolution: None,
            trace_id: String::new(),
            detected_at_ms: 0,
        }
    }

    #[test]
    fn a_choice_stands_for_that_sides_value_or_the_typed_one() {
        let name = parked("name");
        assert_eq!(
            chosen_value(&name, &Choice::Salesforce).unwrap().as_deref(),
            Some("A")
        );
        assert_eq!(
            chosen_value(&name, &Choice::NetSuite).unwrap().as_deref(),
            Some("B")
        );
        let typed = Choice::Value(Some("  C ".into()));
        assert_eq!(chosen_value(&name, &typed).unwrap().as_deref(), Some("C"));
        assert_eq!(
            chosen_value(&name, &Choice::Value(Some(" ".into()))).unwrap(),
            None
        );
    }

    #[test]
    fn a_typed_address_must_be_an_address_object_and_is_kept_canonical() {
        let billing = parked("billing");
        let typed = Choice::Value(Some(r#"{"country":"FR","city":"Paris"}"#.into()));
        let value = chosen_value(&billing, &typed).unwrap().unwrap();
        assert_eq!(
            value,
            r#"{"street":null,"city":"Paris","state":null,"postal_code":null,"country":"FR"}"#
        );
        for bad in [r#"{"town":"Paris"}"#, "Paris", "[1]"] {
            let err = chosen_value(&billing, &Choice::Value(Some(bad.into()))).unwrap_err();
            assert!(
                matches!(err, EngineError::InvalidArgument(_)),
                "{bad}: {err}"
            );
        }
    }
}
