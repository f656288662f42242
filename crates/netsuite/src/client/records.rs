//! The record API (`record/v1`): CRUD, upsert by external id, list and transform.
//!
//! Sublists need no helpers of their own: a sublist is a field of the body
//! (`{"item": {"items": [{"item": {"id": "7"}, "quantity": 2}]}}`), merged line by line on update
//! unless named in `replace`, and returned inline by [`GetOptions::expand_sub_resources`].

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::{decode, Call, NetSuiteClient, Record};
use crate::error::NetSuiteError;
use crate::paths::{check_external_id, id_from_location, record_id, replace_query};

/// Options of [`NetSuiteClient::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Return sublists and subrecords inline instead of as links (`expandSubResources=true`).
    pub expand_sub_resources: bool,
    /// Return only these fields (all when empty).
    pub fields: Vec<String>,
}

/// One page of [`NetSuiteClient::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub items: Vec<ListedRecord>,
    pub has_more: bool,
    pub offset: u64,
    pub total_results: u64,
    /// The `next` link, when NetSuite sent one.
    pub next: Option<String>,
}

/// A record as a list names it: its internal id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedRecord {
    pub id: String,
}

#[derive(Deserialize)]
struct WireListPage {
    #[serde(default)]
    links: Vec<Link>,
    #[serde(rename = "hasMore", default)]
    has_more: bool,
    #[serde(default)]
    offset: u64,
    #[serde(rename = "totalResults", default)]
    total_results: u64,
    #[serde(default)]
    items: Vec<ListedRecord>,
}

#[derive(Deserialize)]
struct Link {
    rel: String,
    href: String,
}

/// Records per list page: the most NetSuite allows.
const LIST_PAGE: u32 = 1000;

impl NetSuiteClient {
    /// Reads one record. `id` is an internal id, or `"eid:<externalId>"`.
    pub async fn get(
        &self,
        record_type: &str,
        id: &str,
        opts: &GetOptions,
    ) -> Result<Record, NetSuiteError> {
        let id = record_id(id)?;
        let fields = opts.fields.join(",");
        let mut query = Vec::new();
        if opts.expand_sub_resources {
            query.push(("expandSubResources", "true"));
        }
        if !opts.fields.is_empty() {
            query.push(("fields", fields.as_str()));
        }
        let pattern = format!("record/v1/{record_type}/{{id}}");
        let url = self.url(&["record", "v1", record_type, id], &query)?;
        let reply = self.send(Call::new(Method::GET, url, &pattern)).await?;
        decode(&reply.body, "record")
    }

    /// Creates a record and returns its internal id, read from the `Location` header of the
    /// 204 answer.
    pub async fn create(&self, record_type: &str, body: &Record) -> Result<String, NetSuiteError> {
        let pattern = format!("record/v1/{record_type}");
        let url = self.url(&["record", "v1", record_type], &[])?;
        let reply = self
            .send(Call::new(Method::POST, url, &pattern).json(body)?)
            .await?;
        location_id(reply.location.as_deref(), "create")
    }

    /// Updates the given fields of a record. `replace` names sublists to replace wholesale
    /// (`?replace=a,b`); other sublists are merged line by line.
    pub async fn update(
        &self,
        record_type: &str,
        id: &str,
        body: &Record,
        replace: &[&str],
    ) -> Result<(), NetSuiteError> {
        let id = record_id(id)?;
        let replace = replace.join(",");
        let pattern = format!("record/v1/{record_type}/{{id}}");
        let url = self.url(&["record", "v1", record_type, id], &replace_query(&replace))?;
        self.send(Call::new(Method::PATCH, url, &pattern).json(body)?)
            .await?;
        Ok(())
    }

    /// Creates or updates the record with this external id (`PUT record/v1/{type}/eid:{id}`);
    /// returns the internal id when a `Location` header came back.
    pub async fn upsert(
        &self,
        record_type: &str,
        external_id: &str,
        body: &Record,
        replace: &[&str],
    ) -> Result<Option<String>, NetSuiteError> {
        check_external_id(external_id)?;
        let id = format!("eid:{external_id}");
        let replace = replace.join(",");
        let pattern = format!("record/v1/{record_type}/eid:{{externalId}}");
        let url = self.url(
            &["record", "v1", record_type, &id],
            &replace_query(&replace),
        )?;
        let reply = self
            .send(Call::new(Method::PUT, url, &pattern).json(body)?)
            .await?;
        Ok(reply.location.as_deref().and_then(id_from_location))
    }

    /// Deletes a record. `id` is an internal id, or `"eid:<externalId>"`.
    pub async fn delete(&self, record_type: &str, id: &str) -> Result<(), NetSuiteError> {
        let id = record_id(id)?;
        let pattern = format!("record/v1/{record_type}/{{id}}");
        let url = self.url(&["record", "v1", record_type, id], &[])?;
        self.send(Call::new(Method::DELETE, url, &pattern)).await?;
        Ok(())
    }

    /// One page of the records of a type (`GET record/v1/{type}?q=&limit=&offset=`). `q` is the
    /// record API's filter language (`lastModifiedDate AFTER "2026-03-15T00:00:00Z"`); `limit` is
    /// at most 1000.
    pub async fn list(
        &self,
        record_type: &str,
        q: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<ListPage, NetSuiteError> {
        let limit = limit.clamp(1, LIST_PAGE).to_string();
        let offset = offset.to_string();
        let mut query = vec![("limit", limit.as_str()), ("offset", offset.as_str())];
        if let Some(q) = q {
            query.push(("q", q));
        }
        let url = self.url(&["record", "v1", record_type], &query)?;
        self.list_page(url, record_type).await
    }

    /// Every record of a type matching `q`, following the `next` links while `hasMore`.
    pub async fn list_all(
        &self,
        record_type: &str,
        q: Option<&str>,
    ) -> Result<Vec<ListedRecord>, NetSuiteError> {
        let mut page = self.list(record_type, q, LIST_PAGE, 0).await?;
        let mut records = std::mem::take(&mut page.items);
        while page.has_more {
            let url = match &page.next {
                Some(next) => self.same_origin(next)?,
                // No link: the next offset follows from the page just read.
                None => {
                    let offset = (page.offset + LIST_PAGE as u64).to_string();
                    let limit = LIST_PAGE.to_string();
                    let mut query = vec![("limit", limit.as_str()), ("offset", offset.as_str())];
                    if let Some(q) = q {
                        query.push(("q", q));
                    }
                    self.url(&["record", "v1", record_type], &query)?
                }
            };
            let before = records.len();
            page = self.list_page(url, record_type).await?;
            records.append(&mut page.items);
            if records.len() == before && page.has_more {
                return Err(NetSuiteError::Decode(
                    "list page was empty but claims more follow".into(),
                ));
            }
        }
        Ok(records)
    }

    /// Transforms a record into another type (`POST record/v1/{from}/{id}/!transform/{to}`), e.g.
    /// a sales order into an item fulfilment or an invoice; `body` sets or overrides fields of the
    /// new record. Returns the new record's internal id from `Location`.
    pub async fn transform(
        &self,
        from_type: &str,
        id: &str,
        to_type: &str,
        body: &Record,
    ) -> Result<String, NetSuiteError> {
        let id = record_id(id)?;
        let pattern = format!("record/v1/{from_type}/{{id}}/!transform/{to_type}");
        let url = self.url(&["record", "v1", from_type, id, "!transform", to_type], &[])?;
        let reply = self
            .send(Call::new(Method::POST, url, &pattern).json(body)?)
            .await?;
        location_id(reply.location.as_deref(), "transform")
    }

    async fn list_page(&self, url: Url, record_type: &str) -> Result<ListPage, NetSuiteError> {
        let pattern = format!("record/v1/{record_type}");
        let reply = self.send(Call::new(Method::GET, url, &pattern)).await?;
        let page: WireListPage = decode(&reply.body, "list page")?;
        Ok(ListPage {
            next: page
                .links
                .into_iter()
                .find(|link| link.rel == "next")
                .map(|link| link.href),
            items: page.items,
            has_more: page.has_more,
            offset: page.offset,
            total_results: page.total_results,
        })
    }

    /// A link NetSuite sent, accepted only on the REST origin so credentials never go elsewhere.
    pub(crate) fn same_origin(&self, href: &str) -> Result<Url, NetSuiteError> {
        let url = self
            .inner
            .rest_base
            .join(href)
            .map_err(|e| NetSuiteError::Decode(format!("link {href:?}: {e}")))?;
        if url.origin() != self.inner.rest_base.origin() {
            return Err(NetSuiteError::Decode(format!(
                "link to another origin refused: {}",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

fn location_id(location: Option<&str>, what: &str) -> Result<String, NetSuiteError> {
    location
        .and_then(id_from_location)
        .ok_or_else(|| NetSuiteError::Decode(format!("{what} answered without a Location id")))
}
