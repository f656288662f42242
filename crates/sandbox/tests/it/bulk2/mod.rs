//! Bulk API 2.0: ingest jobs (create, CSV upload, `UploadComplete`, background processing,
//! result files), query jobs (CSV pages behind `Sforce-Locator`), the state machine, the limits,
//! and the API allocation each request spends. The proof is the org's records and the call counts.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Harness;

mod ingest;
mod limits;
mod query;

const JOBS: &str = "/services/data/v61.0/jobs";

/// A Bulk API 2.0 client over one session.
pub struct Bulk<'a> {
    h: &'a Harness,
    token: String,
}

impl<'a> Bulk<'a> {
    pub async fn new(h: &'a Harness) -> Self {
        let token = h.sf_token().await;
        Self { h, token }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.h
            .http
            .request(method, format!("{}{JOBS}/{path}", self.h.sf))
            .bearer_auth(&self.token)
    }

    pub async fn json(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let response = self.request(method, path).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    pub async fn create_ingest(&self, body: Value) -> String {
        let (status, info) = self.json(Method::POST, "ingest", body).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["state"], "Open");
        info["id"].as_str().unwrap().to_owned()
    }

    pub async fn upload(&self, id: &str, csv: &str) -> u16 {
        self.request(Method::PUT, &format!("ingest/{id}/batches"))
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn set_state(&self, kind: &str, id: &str, state: &str) -> (u16, Value) {
        self.json(
            Method::PATCH,
            &format!("{kind}/{id}"),
            json!({ "state": state }),
        )
        .await
    }

    /// Polls the job until it has an outcome; returns its info.
    pub async fn wait(&self, kind: &str, id: &str) -> Value {
        for _ in 0..500 {
            let info: Value = self
                .get(&format!("{kind}/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if ["JobComplete", "Failed", "Aborted"].contains(&info["state"].as_str().unwrap()) {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {id} did not finish");
    }

    /// Creates, uploads, closes and waits for an ingest job.
    pub async fn ingest(&self, job: Value, csv: &str) -> (String, Value) {
        let id = self.create_ingest(job).await;
        assert_eq!(self.upload(&id, csv).await, 201);
        let (status, info) = self.set_state("ingest", &id, "UploadComplete").await;
        assert_eq!(status, 200, "{info}");
        let info = self.wait("ingest", &id).await;
        (id, info)
    }

    pub async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

pub fn account_names(h: &Harness) -> Vec<String> {
    let mut names: Vec<String> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .map(|a| a["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}
