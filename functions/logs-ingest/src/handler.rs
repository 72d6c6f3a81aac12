//! The handler: one CloudWatch Logs subscription payload per invocation, run through
//! the core's logs pipeline. CloudWatch Logs invokes the function asynchronously with
//! Lambda's own retries off (`MaximumRetryAttempts: 0` in template.yaml), so a
//! failed invocation goes to the function's dead-letter queue once, with its error:
//! a payload that can never decode is not run three times. Retryable failures
//! (throttling, timeouts) are retried here instead, with backoff, while the deadline
//! allows; the pipeline stops at the invocation's deadline less a [`Margin`], and
//! that stop also fails the invocation to the dead-letter queue, from which a
//! redrive replays it without duplicates. One summary log line and one EMF metrics
//! line per invocation.

use crate::config::Config;
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use std::time::{Instant, SystemTime};
use trailhound_aws::emf::Metrics;
use trailhound_aws::retry::Backoff;
use trailhound_aws::{Clients, DynamoFindingStore, S3ModelSource, SigningKeySource, SnsAlertSink};
use trailhound_core::Severity;
use trailhound_core::logs::{
    LogsConfig, LogsError, LogsPorts, LogsReport, ModelSet, run_payload_until,
};
use trailhound_core::pipeline::{Deadline, Margin};
use trailhound_core::ports::{AlertSink, FindingStore, ModelSource, Retry};

/// The function's ports and settings, built once at cold start.
#[derive(Debug)]
pub struct LogsIngest<C, V, W, F, A> {
    /// The model cache of CloudTrail events delivered through CloudWatch Logs.
    pub cloudtrail_model: C,
    /// The model cache of VPC Flow Logs.
    pub vpcflow_model: V,
    /// The model cache of access logs.
    pub access_log_model: W,
    /// The findings table.
    pub findings: F,
    /// The alerts topic.
    pub alerts: A,
    /// Pipeline settings and the log group → source map.
    pub config: LogsConfig,
    /// Time kept in reserve before the invocation's deadline.
    pub margin: Margin,
    /// In-process retries of a payload that failed `Retryable`.
    pub retry: Backoff,
}

/// The function as deployed: S3, DynamoDB and SNS adapters.
pub type AwsLogsIngest =
    LogsIngest<S3ModelSource, S3ModelSource, S3ModelSource, DynamoFindingStore, SnsAlertSink>;

impl AwsLogsIngest {
    /// Builds the AWS adapters from the configuration.
    pub fn on_aws(cfg: &Config, clients: &Clients) -> Self {
        // One key for the three sources: one GetParameter per cold start.
        let keys = SigningKeySource::from_parameter(
            &clients.ssm,
            cfg.ingest.model_signing_key_parameter.as_deref(),
        );
        let model = |source: &str| {
            S3ModelSource::new(
                clients.s3.clone(),
                &cfg.ingest.model_bucket,
                cfg.model_key_for(source),
                cfg.ingest.model_refresh,
            )
            .with_source(source)
            .with_signing_key(keys.clone())
        };
        LogsIngest {
            cloudtrail_model: model("cloudtrail"),
            vpcflow_model: model("vpcflow"),
            access_log_model: model("access_log"),
            findings: DynamoFindingStore::new(clients.dynamodb.clone(), &cfg.ingest.findings_table)
                .with_ttl_days(cfg.ingest.finding_ttl_days),
            alerts: SnsAlertSink::new(clients.sns.clone(), &cfg.ingest.alerts_topic_arn),
            config: cfg.pipeline(),
            margin: Margin::default(),
            retry: Backoff {
                retries: 3,
                ..Backoff::default()
            },
        }
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The payload could not be decoded or a port failed.
    #[error(transparent)]
    Logs(#[from] LogsError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let HandlerError::Logs(inner) = &e;
        let error_type = match inner {
            LogsError::BadPayload(_) => "NonRetryable.BadPayload",
            LogsError::Deadline { .. } => "Retryable.Deadline",
            other if other.retry() == Retry::Retryable => "Retryable",
            _ => "NonRetryable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl<C, V, W, F, A> LogsIngest<C, V, W, F, A>
where
    C: ModelSource,
    V: ModelSource,
    W: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    /// Loads the three models at cold start, so the first payload does not pay for
    /// them. A failure is only logged: the first invocation tries again.
    pub async fn warm_up(&self) {
        let (c, v, w) = tokio::join!(
            self.cloudtrail_model.current(),
            self.vpcflow_model.current(),
            self.access_log_model.current()
        );
        for (source, result) in [("cloudtrail", c), ("vpcflow", v), ("access_log", w)] {
            if let Err(e) = result {
                tracing::warn!(source, error = %e, "model not loaded at cold start; retrying on the first payload");
            }
        }
    }

    /// The Lambda entry point. The context's deadline bounds the work (a default
    /// context, deadline 0, as in tests, means none).
    pub async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<(), HandlerError> {
        let deadline = (event.context.deadline != 0).then(|| event.context.deadline());
        self.handle_until(event.payload.get().as_bytes(), deadline)
            .await
            .map(|_| ())
    }

    /// Handles one subscription event, `{"awslogs":{"data":"…"}}`, given as JSON,
    /// without a deadline.
    pub async fn handle_bytes(&self, event_json: &[u8]) -> Result<LogsReport, HandlerError> {
        self.handle_until(event_json, None).await
    }

    /// Handles one subscription event, winding down [`LogsIngest::margin`] before
    /// `deadline`. A `Retryable` failure is run again (stores are idempotent) after
    /// a backoff, up to [`LogsIngest::retry`] times, while the wait ends before the
    /// deadline.
    pub async fn handle_until(
        &self,
        event_json: &[u8],
        deadline: Option<SystemTime>,
    ) -> Result<LogsReport, HandlerError> {
        let started = Instant::now();
        let soft = deadline.map_or(Deadline::NEVER, |d| Deadline::before(d, self.margin));
        let models = ModelSet {
            cloudtrail: &self.cloudtrail_model,
            vpcflow: &self.vpcflow_model,
            access_log: &self.access_log_model,
        };
        let ports = LogsPorts {
            models: &models,
            findings: &self.findings,
            alerts: &self.alerts,
        };
        let mut attempt = 0;
        let result = loop {
            let result = run_payload_until(event_json, &ports, &self.config, soft).await;
            match &result {
                Err(e @ LogsError::Port { .. }) if e.retry() == Retry::Retryable => {
                    attempt += 1;
                    let wait = self.retry.delay(attempt);
                    let in_time = soft.remaining().is_none_or(|left| wait < left);
                    if attempt > self.retry.retries || !in_time {
                        break result;
                    }
                    tracing::warn!(attempt, error = %e, "payload failed; retrying it in-process");
                    tokio::time::sleep(wait).await;
                }
                _ => break result,
            }
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(report) => summarise(report, duration_ms),
            Err(e @ LogsError::BadPayload(_)) => {
                tracing::error!(retry = "NonRetryable", error = %e, bytes = event_json.len(), "payload rejected");
                Metrics::new()
                    .dimension("Source", "logs")
                    .count("PayloadsRejected", 1)
                    .millis("DurationMs", duration_ms)
                    .emit();
            }
            Err(e @ LogsError::Deadline { .. }) => {
                tracing::error!(retry = "Retryable", error = %e, attempts = attempt + 1, "payload abandoned at the deadline; it goes to the dead-letter queue for a redrive");
                Metrics::new()
                    .dimension("Source", "logs")
                    .count("DeadlineStops", 1)
                    .millis("DurationMs", duration_ms)
                    .emit();
            }
            Err(e) => {
                tracing::error!(retry = ?e.retry(), error = %e, attempts = attempt + 1, "payload failed; it goes to the dead-letter queue");
                Metrics::new()
                    .dimension("Source", "logs")
                    .count("PayloadsFailed", 1)
                    .count("Retries", u64::from(attempt))
                    .millis("DurationMs", duration_ms)
                    .emit();
            }
        }
        Ok(result?)
    }
}

fn summarise(r: &LogsReport, duration_ms: u64) {
    let count = |s: Severity| r.findings.get(&s).copied().unwrap_or(0);
    let (low, medium, high, critical) = (
        count(Severity::Low),
        count(Severity::Medium),
        count(Severity::High),
        count(Severity::Critical),
    );
    let c = &r.counts;
    let models = r
        .model_versions
        .iter()
        .map(|(s, v)| format!("{s}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(
        payloads = c.payloads,
        control_messages = c.control,
        events = c.events,
        parsed = c.parsed,
        records_skipped = c.skipped,
        unrouted = c.unrouted,
        no_data = c.no_data,
        findings_low = low,
        findings_medium = medium,
        findings_high = high,
        findings_critical = critical,
        alerts = r.alerts,
        duration_ms,
        models = %models,
        "processed payload"
    );
    Metrics::new()
        .dimension("Source", "logs")
        .count("EventsRead", c.parsed)
        .count("RecordsSkipped", c.skipped)
        .count("EventsUnrouted", c.unrouted)
        .count("FindingsLow", low)
        .count("FindingsMedium", medium)
        .count("FindingsHigh", high)
        .count("FindingsCritical", critical)
        .count("AlertsSent", r.alerts)
        .millis("DurationMs", duration_ms)
        .property("ModelVersions", models.as_str())
        .emit();
}
