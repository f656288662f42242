//! `isthmus doctor`: checks every mapped field, value map and external-id field against both
//! systems' metadata (see `isthmus_engine::doctor`), prints the report (a table, or `--json`),
//! raises an alert to the configured webhook when problems are found, and exits non-zero then.
//! Reads metadata only: it writes nothing to either system or to the store.

use isthmus::wiring;
use isthmus::{Config, Secrets};
use isthmus_engine::alerts;
use isthmus_engine::doctor;

pub async fn doctor(config: Config, json: bool) -> anyhow::Result<()> {
    let secrets = Secrets::load(&config)?;
    // The NetSuite client's calls hold slots of the account-wide semaphore in the store; without
    // Redis configured, a semaphore of this process alone.
    let store = wiring::store(&config, true).await?;
    let salesforce = wiring::salesforce(&config, &secrets)?;
    let netsuite = wiring::netsuite(&config, &secrets, store)?;
    let report = doctor::run(&config, &salesforce, &netsuite).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
        if report.ok {
            println!();
        }
    }
    if let (Some(alert), Some(webhook)) = (report.alert(), &secrets.alerts_webhook_url) {
        if let Err(err) = alerts::send_once(webhook, &reqwest::Client::new(), &[alert]).await {
            tracing::warn!(error = %err, "the schema drift alert was not sent");
        }
    }
    if !report.ok {
        anyhow::bail!("{} schema problem(s) found", report.problems.len());
    }
    Ok(())
}
