//! The Lambda handler: one SNS event in, one Slack post per alert out.
//!
//! A record that is not a finding is skipped with a warning (retrying cannot fix it).
//! A delivery failure is returned as the invocation's error, so Lambda retries the
//! event and finally sends it to the notifier's failure queue.

use crate::alert::Alert;
use crate::deliver::{DeliveryError, SlackWebhook, Sleep, TokioSleep};
use crate::slack::build_message;
use aws_lambda_events::event::sns::SnsEvent;

/// What one invocation did; also the invocation's JSON result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Alerts posted to Slack.
    pub delivered: usize,
    /// Records skipped because they were not findings.
    pub skipped: usize,
}

/// Turns SNS alerts into Slack posts.
#[derive(Debug, Clone)]
pub struct Notifier<S = TokioSleep> {
    webhook: SlackWebhook<S>,
    console_region: Option<String>,
}

impl<S: Sleep> Notifier<S> {
    /// A notifier posting to `webhook`; `console_region` is the fallback region of
    /// console links.
    pub fn new(webhook: SlackWebhook<S>, console_region: Option<String>) -> Self {
        Notifier {
            webhook,
            console_region,
        }
    }

    /// Handles one SNS event. Stops at the first failed delivery and returns it, so
    /// the records before it are not posted twice within this invocation.
    pub async fn handle(&self, event: SnsEvent) -> Result<Outcome, DeliveryError> {
        let mut outcome = Outcome::default();
        for record in &event.records {
            let message_id = record.sns.message_id.as_str();
            let alert = match Alert::from_sns(&record.sns) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(message_id, error = %e, "skipped an sns record that is not a finding");
                    outcome.skipped += 1;
                    continue;
                }
            };
            let message = build_message(&alert, self.console_region.as_deref());
            match self.webhook.post(&message).await {
                Ok(d) => {
                    outcome.delivered += 1;
                    tracing::debug!(message_id, finding_id = %alert.finding_id, attempts = d.attempts, "posted alert to slack");
                }
                Err(e) => {
                    tracing::error!(message_id, finding_id = %alert.finding_id, error = %e, "could not post alert to slack");
                    return Err(e);
                }
            }
        }
        tracing::info!(
            records = event.records.len(),
            delivered = outcome.delivered,
            skipped = outcome.skipped,
            "handled sns alerts"
        );
        Ok(outcome)
    }
}
