//! Call counting. Every API request is counted under `"METHOD route-pattern"`, where the pattern
//! replaces ids, external-id values, query locators and the API version with placeholders, so a test
//! can say "exactly one upsert of an Account" without knowing ids.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Counts of API calls by system, keyed `"METHOD route-pattern"`, e.g.
/// `"PATCH /services/data/vXX.X/sobjects/Account/{id}"` or `"PUT /services/rest/record/v1/customer/eid:{externalId}"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    pub salesforce: BTreeMap<String, u64>,
    pub netsuite: BTreeMap<String, u64>,
}

impl CallCounts {
    /// Salesforce POST/PUT/PATCH/DELETE calls, not counting the token endpoint.
    pub fn salesforce_writes(&self) -> u64 {
        writes(&self.salesforce)
    }

    /// NetSuite POST/PUT/PATCH/DELETE calls, not counting SuiteQL and token endpoints.
    pub fn netsuite_writes(&self) -> u64 {
        writes(&self.netsuite)
    }

    pub fn salesforce_total(&self) -> u64 {
        self.salesforce.values().sum()
    }

    pub fn netsuite_total(&self) -> u64 {
        self.netsuite.values().sum()
    }

    /// The count under one key, looked up in both systems (keys never collide); 0 when absent.
    pub fn get(&self, key: &str) -> u64 {
        self.salesforce
            .get(key)
            .or_else(|| self.netsuite.get(key))
            .copied()
            .unwrap_or(0)
    }
}

fn writes(counts: &BTreeMap<String, u64>) -> u64 {
    counts
        .iter()
        .filter(|(key, _)| is_write(key))
        .map(|(_, count)| count)
        .sum()
}

fn is_write(key: &str) -> bool {
    let (method, path) = key.split_once(' ').unwrap_or((key, ""));
    let writing = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
    let reading_by_post = path.contains("/oauth2/")
        || path.ends_with("/query/v1/suiteql")
        || path.ends_with("/query")
        || path.contains("/query/");
    writing && !reading_by_post
}

/// One of the two simulated systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Salesforce,
    NetSuite,
}

#[derive(Default)]
pub struct CallLog {
    counts: Mutex<CallCounts>,
}

impl CallLog {
    /// Counts one call of `method` on a path whose route pattern is `pattern`.
    pub fn record_key(&self, system: System, method: &str, pattern: &str) {
        let key = format!("{method} {pattern}");
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let map = match system {
            System::Salesforce => &mut counts.salesforce,
            System::NetSuite => &mut counts.netsuite,
        };
        *map.entry(key).or_default() += 1;
    }

    pub fn snapshot(&self) -> CallCounts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn reset(&self) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = CallCounts::default();
    }
}

/// The route pattern of a request path: ids and values become placeholders.
pub fn route_pattern(system: System, path: &str) -> String {
    let mut segments: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    match system {
        System::Salesforce => salesforce_pattern(&mut segments),
        System::NetSuite => netsuite_pattern(&mut segments),
    }
    segments.join("/")
}

// ["", "services", "data", "v61.0", rest...]
fn salesforce_pattern(segments: &mut [String]) {
    if segments.len() < 4 || segments[1] != "services" || segments[2] != "data" {
        return;
    }
    segments[3] = "vXX.X".to_owned();
    let rest = &mut segments[4..];
    match rest {
        [query, locator] if query == "query" || query == "queryAll" => {
            *locator = "{locator}".into()
        }
        [sobjects, _, id] if sobjects == "sobjects" && !is_static_sobject_segment(id) => {
            *id = "{id}".into()
        }
        [sobjects, _, _, value] if sobjects == "sobjects" => *value = "{value}".into(),
        [jobs, _, id, ..] if jobs == "jobs" => *id = "{jobId}".into(),
        _ => {}
    }
}

fn is_static_sobject_segment(segment: &str) -> bool {
    matches!(segment, "describe" | "updated" | "deleted")
}

// ["", "services", "rest", "record", "v1", type, id, ...]
// ["", "services", "rest", "async", "v1", "job", id, "task", taskId, "result"]
fn netsuite_pattern(segments: &mut [String]) {
    if segments.len() >= 7 && segments[3] == "record" {
        segments[6] = if segments[5] == "metadata-catalog" {
            "{recordType}".into()
        } else if segments[6].starts_with("eid:") {
            "eid:{externalId}".into()
        } else {
            "{id}".into()
        };
    }
    if segments.len() >= 7 && segments[3] == "async" && segments[5] == "job" {
        segments[6] = "{id}".into();
        if let Some(task) = segments.get_mut(8) {
            *task = "{taskId}".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_patterns_hide_ids_values_locators_and_version() {
        let p = |path| route_pattern(System::Salesforce, path);
        assert_eq!(
            p("/services/data/v61.0/query"),
            "/services/data/vXX.X/query"
        );
        assert_eq!(
            p("/services/data/v58.0/query/01gx-2000"),
            "/services/data/vXX.X/query/{locator}"
        );
        assert_eq!(
            p("/services/data/v61.0/sobjects/Account/001Dn000000000001AAA"),
            "/services/data/vXX.X/sobjects/Account/{id}"
        );
        assert_eq!(
            p("/services/data/v61.0/sobjects/Account/NetSuite_Id__c/42"),
            "/services/data/vXX.X/sobjects/Account/NetSuite_Id__c/{value}"
        );
        assert_eq!(p("/services/oauth2/token"), "/services/oauth2/token");
        assert_eq!(
            p("/services/data/v61.0/jobs/ingest/750000000000001AAA/batches"),
            "/services/data/vXX.X/jobs/ingest/{jobId}/batches"
        );
        assert_eq!(
            p("/services/data/v61.0/jobs/query/750000000000001AAA/results"),
            "/services/data/vXX.X/jobs/query/{jobId}/results"
        );
        assert_eq!(
            p("/services/data/v61.0/jobs/ingest"),
            "/services/data/vXX.X/jobs/ingest"
        );
    }

    #[test]
    fn netsuite_patterns_hide_ids_and_external_ids() {
        let p = |path| route_pattern(System::NetSuite, path);
        assert_eq!(
            p("/services/rest/record/v1/customer"),
            "/services/rest/record/v1/customer"
        );
        assert_eq!(
            p("/services/rest/record/v1/customer/647"),
            "/services/rest/record/v1/customer/{id}"
        );
        assert_eq!(
            p("/services/rest/record/v1/customer/eid:SF-1"),
            "/services/rest/record/v1/customer/eid:{externalId}"
        );
        assert_eq!(
            p("/services/rest/record/v1/salesOrder/2001/!transform/invoice"),
            "/services/rest/record/v1/salesOrder/{id}/!transform/invoice"
        );
    }

    #[test]
    fn netsuite_patterns_hide_job_and_task_ids() {
        let p = |path| route_pattern(System::NetSuite, path);
        assert_eq!(
            p("/services/rest/async/v1/job/17"),
            "/services/rest/async/v1/job/{id}"
        );
        assert_eq!(
            p("/services/rest/async/v1/job/17/task"),
            "/services/rest/async/v1/job/{id}/task"
        );
        assert_eq!(
            p("/services/rest/async/v1/job/17/task/1/result"),
            "/services/rest/async/v1/job/{id}/task/{taskId}/result"
        );
    }

    #[test]
    fn writes_exclude_token_and_queries() {
        let mut counts = CallCounts::default();
        for key in [
            "POST /services/oauth2/token",
            "GET /services/data/vXX.X/query",
            "POST /services/data/vXX.X/sobjects/Account",
            "PATCH /services/data/vXX.X/sobjects/Account/{id}",
        ] {
            counts.salesforce.insert(key.into(), 1);
        }
        counts
            .netsuite
            .insert("POST /services/rest/query/v1/suiteql".into(), 3);
        counts.netsuite.insert(
            "PUT /services/rest/record/v1/customer/eid:{externalId}".into(),
            2,
        );
        assert_eq!(counts.salesforce_writes(), 2);
        assert_eq!(counts.netsuite_writes(), 2);
        assert_eq!(counts.salesforce_total(), 4);
        assert_eq!(counts.netsuite_total(), 5);
        assert_eq!(counts.get("POST /services/rest/query/v1/suiteql"), 3);
    }
}
