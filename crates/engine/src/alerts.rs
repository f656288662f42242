//! Alerts to a Slack-compatible webhook (`{"text": …}`), batched and rate-limited: events are
//! queued in memory and sent at most once per `min_interval`, many to a message, so a storm
//! of dead letters is one message a minute rather than a message each. When the queue of
//! unsent events is full, further events are counted and the count is reported instead.
//! The webhook URL is a secret (it embeds a token): it is never logged.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;

/// Events one message lists at most; the rest are counted.
const MAX_LISTED: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    DeadLetter {
        job_id: String,
        kind: String,
        error: String,
    },
    Conflict {
        flow: String,
        records: String,
        reason: String,
    },
    /// A delta's cursor is older than the vendor's change log reaches (Salesforce keeps
    /// deleted records 15 days): the changes in between cannot be read from the log, and were
    /// looked for by reconciliation instead.
    LogOutrun {
        flow: String,
        since: String,
        detail: String,
    },
    /// The doctor found fields, values or external ids the configured flows need missing from
    /// a system (schema drift): syncs that need them will fail.
    SchemaDrift { problems: usize, detail: String },
}

impl Alert {
    fn line(&self) -> String {
        match self {
            Self::DeadLetter {
                job_id,
                kind,
                error,
            } => {
                format!(
                    "• dead letter `{job_id}` ({kind}): {}",
                    truncate(error, 300)
                )
            }
            Self::Conflict {
                flow,
                records,
                reason,
            } => {
                format!(
                    "• conflict in {flow} for {records}: {}",
                    truncate(reason, 300)
                )
            }
            Self::LogOutrun {
                flow,
                since,
                detail,
            } => {
                format!(
                    "• {flow} missed its change log since {since}: {}",
                    truncate(detail, 300)
                )
            }
            Self::SchemaDrift { problems, detail } => {
                format!(
                    "• schema drift: {problems} problem(s): {}",
                    truncate(detail, 300)
                )
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// A handle that raises alerts; cheap to clone. Sending happens on a background task.
#[derive(Clone)]
pub struct Alerts {
    events: mpsc::Sender<Alert>,
}

impl Alerts {
    /// Starts the sender task for `webhook` (POSTed JSON `{"text": …}`).
    pub fn start(webhook: SecretString, min_interval: Duration, client: reqwest::Client) -> Self {
        let (events, inbox) = mpsc::channel(1024);
        tokio::spawn(send_batches(webhook, min_interval, client, inbox));
        Self { events }
    }

    /// Queues an alert; never blocks (a full queue drops it, and the sender counts drops).
    pub fn raise(&self, alert: Alert) {
        if self.events.try_send(alert).is_err() {
            tracing::warn!("alert queue full: an alert was dropped");
        }
    }
}

async fn send_batches(
    webhook: SecretString,
    min_interval: Duration,
    client: reqwest::Client,
    mut inbox: mpsc::Receiver<Alert>,
) {
    while let Some(first) = inbox.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = inbox.try_recv() {
            batch.push(more);
        }
        if let Err(err) = send_once(&webhook, &client, &batch).await {
            tracing::warn!(error = %err, "an alert message was not delivered");
        }
        // Rate limit: what arrives meanwhile goes out together in the next message.
        tokio::time::sleep(min_interval).await;
    }
}

/// Sends `batch` as one message now, for a one-shot command that cannot leave it to a
/// background task ([`Alerts::raise`]); the error never contains the webhook URL.
pub async fn send_once(
    webhook: &SecretString,
    client: &reqwest::Client,
    batch: &[Alert],
) -> Result<(), String> {
    match client
        .post(webhook.expose_secret())
        .json(&serde_json::json!({ "text": message(batch) }))
        .send()
        .await
    {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!(
            "the alert webhook refused a message ({})",
            answer.status()
        )),
        Err(err) => Err(format!(
            "the alert webhook is unreachable: {}",
            err.without_url()
        )),
    }
}

fn message(batch: &[Alert]) -> String {
    let dead = batch
        .iter()
        .filter(|a| matches!(a, Alert::DeadLetter { .. }))
        .count();
    let conflicts = batch
        .iter()
        .filter(|a| matches!(a, Alert::Conflict { .. }))
        .count();
    let mut text = format!("Isthmus: {dead} dead letter(s), {conflicts} conflict(s)");
    let drift = batch
        .iter()
        .filter(|a| matches!(a, Alert::SchemaDrift { .. }))
        .count();
    let outrun = batch.len() - dead - conflicts - drift;
    if outrun > 0 {
        text.push_str(&format!(", {outrun} change log(s) outrun"));
    }
    if drift > 0 {
        text.push_str(&format!(", {drift} schema drift report(s)"));
    }
    for alert in batch.iter().take(MAX_LISTED) {
        text.push('\n');
        text.push_str(&alert.line());
    }
    if batch.len() > MAX_LISTED {
        text.push_str(&format!("\n… and {} more", batch.len() - MAX_LISTED));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_one_message_with_counts_and_at_most_twenty_lines() {
        let batch: Vec<Alert> = (0..25)
            .map(|i| Alert::DeadLetter {
                job_id: format!("j{i}"),
                kind: "customers.sync_account".into(),
                error: "boom".into(),
            })
            .chain([Alert::Conflict {
                flow: "f".into(),
                records: "001".into(),
                reason: "two customers".into(),
            }])
            .collect();
        let text = message(&batch);
        assert!(
            text.starts_with("Isthmus: 25 dead letter(s), 1 conflict(s)"),
            "{text}"
        );
        assert_eq!(text.lines().filter(|l| l.starts_with('•')).count(), 20);
        assert!(text.ends_with("… and 6 more"), "{text}");
    }

    #[test]
    fn long_errors_are_cut() {
        let line = Alert::DeadLetter {
            job_id: "j".into(),
            kind: "k".into(),
            error: "x".repeat(1000),
        }
        .line();
        assert!(line.chars().count() < 400);
    }
}
