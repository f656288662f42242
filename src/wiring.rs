//! Building the store and the connector clients from configuration.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use isthmus_engine::customers::CustomerFlows;
use isthmus_engine::{Config, Secrets};
use isthmus_gateway::{ApiKeys, GatewaySettings};
use isthmus_netsuite::{NetSuiteClient, NetSuiteConfig};
use isthmus_salesforce::{SalesforceClient, SalesforceConfig};
use isthmus_store::{MemoryStore, RedisStore, Store};
use secrecy::SecretString;

/// Redis when `store.redis_url` is set; the in-memory store only when `allow_memory` (dev).
pub async fn store(config: &Config, allow_memory: bool) -> anyhow::Result<Arc<dyn Store>> {
    if config.store.redis_url.is_empty() {
        if !allow_memory {
            bail!("store.redis_url is not set (ISTHMUS_STORE__REDIS_URL): services need Redis");
        }
        return Ok(Arc::new(MemoryStore::new()));
    }
    let store = RedisStore::connect(&config.store.redis_url, &config.store.connection)
        .await
        .context("connecting to Redis")?;
    Ok(Arc::new(store))
}

fn required(secret: &Option<SecretString>, env: &str) -> anyhow::Result<SecretString> {
    secret
        .clone()
        .with_context(|| format!("secret missing: set {env} or its *_file config key"))
}

pub fn salesforce(config: &Config, secrets: &Secrets) -> anyhow::Result<SalesforceClient> {
    let s = &config.salesforce;
    Ok(SalesforceClient::new(SalesforceConfig {
        login_url: s.login_url.clone(),
        api_version: s.api_version.clone(),
        client_id: s.client_id.clone(),
        client_secret: required(
            &secrets.salesforce_client_secret,
            "ISTHMUS_SALESFORCE__CLIENT_SECRET",
        )?,
        timeout: Duration::from_millis(s.timeout_ms),
    })?)
}

pub fn netsuite(config: &Config, secrets: &Secrets) -> anyhow::Result<NetSuiteClient> {
    let n = &config.netsuite;
    Ok(NetSuiteClient::new(NetSuiteConfig {
        account_id: n.account_id.clone(),
        base_url: (!n.base_url.is_empty()).then(|| n.base_url.clone()),
        consumer_key: n.consumer_key.clone(),
        consumer_secret: required(
            &secrets.netsuite_consumer_secret,
            "ISTHMUS_NETSUITE__CONSUMER_SECRET",
        )?,
        token_id: n.token_id.clone(),
        token_secret: required(
            &secrets.netsuite_token_secret,
            "ISTHMUS_NETSUITE__TOKEN_SECRET",
        )?,
        timeout: Duration::from_millis(n.timeout_ms),
    })?)
}

pub fn customer_flows(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<CustomerFlows> {
    Ok(CustomerFlows::new(
        config.customers.clone(),
        salesforce(config, secrets)?,
        netsuite(config, secrets)?,
        store,
    ))
}

pub fn gateway_settings(config: &Config) -> GatewaySettings {
    GatewaySettings {
        max_body_bytes: config.gateway.max_body_bytes,
        sync_deadline: Duration::from_millis(config.gateway.sync_deadline_ms),
        idempotency_ttl: Duration::from_secs(config.gateway.idempotency_ttl_s),
    }
}

/// API keys from the `gateway.api_keys` secret; none configured is an error outside dev.
pub fn api_keys(secrets: &Secrets) -> anyhow::Result<ApiKeys> {
    use secrecy::ExposeSecret;
    let Some(spec) = &secrets.gateway_api_keys else {
        bail!("no API keys: set ISTHMUS_GATEWAY__API_KEYS or gateway.api_keys_file");
    };
    Ok(ApiKeys::parse(spec.expose_secret())?)
}
