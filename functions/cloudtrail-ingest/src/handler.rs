//! The handler: turns the trigger into objects, runs the core pipeline on each, and
//! maps the outcome back (SQS `batchItemFailures`, or an error for direct S3
//! invocations so that Lambda retries them). One summary log line and one EMF
//! metrics line per invocation.

use crate::config::Config;
use crate::event::{EventError, Trigger, parse_trigger};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::time::Instant;
use trailhound_aws::emf::Metrics;
use trailhound_aws::{
    Clients, DynamoFindingStore, DynamoProfileStore, S3ModelSource, S3ObjectSource, SnsAlertSink,
};
use trailhound_core::Severity;
use trailhound_core::pipeline::{PipelineConfig, PipelineError, Ports, Report, run_object};
use trailhound_core::ports::{
    AlertSink, FindingStore, ModelSource, ObjectRef, ObjectSource, ProfileStore, Retry,
};

/// The function's ports and settings, built once at cold start.
#[derive(Debug)]
pub struct Ingest<O, M, F, A, P = Option<DynamoProfileStore>> {
    /// Where CloudTrail objects are read.
    pub objects: O,
    /// The model cache.
    pub models: M,
    /// The findings table.
    pub findings: F,
    /// The alerts topic.
    pub alerts: A,
    /// The profiles table (behavioural baselines), when `PROFILES_TABLE` is set.
    pub profiles: P,
    /// Pipeline settings.
    pub pipeline: PipelineConfig,
}

/// The function as deployed: S3, DynamoDB and SNS adapters.
pub type AwsIngest = Ingest<S3ObjectSource, S3ModelSource, DynamoFindingStore, SnsAlertSink>;

impl AwsIngest {
    /// Builds the AWS adapters from the configuration.
    pub fn on_aws(cfg: &Config, clients: &Clients) -> Self {
        Ingest {
            objects: S3ObjectSource::new(clients.s3.clone(), cfg.ingest.max_decompressed_bytes),
            models: S3ModelSource::new(
                clients.s3.clone(),
                &cfg.ingest.model_bucket,
                &cfg.model_key,
                cfg.ingest.model_refresh,
            ),
            findings: DynamoFindingStore::new(clients.dynamodb.clone(), &cfg.ingest.findings_table)
                .with_ttl_days(cfg.ingest.finding_ttl_days),
            alerts: SnsAlertSink::new(clients.sns.clone(), &cfg.ingest.alerts_topic_arn),
            profiles: cfg
                .profiles_table
                .as_ref()
                .map(|t| DynamoProfileStore::new(clients.dynamodb.clone(), t)),
            pipeline: cfg.pipeline(),
        }
    }
}

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not a trigger this function understands.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Objects of a direct S3 invocation failed; Lambda retries the invocation.
    #[error("{failed} of {total} objects failed, first: {first}")]
    Objects {
        /// Objects that failed.
        failed: usize,
        /// Objects named by the event.
        total: usize,
        /// The first failure.
        first: String,
        /// Whether any failure may go away on retry (throttling, timeouts).
        retryable: bool,
    },
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::Event(_) => "NonRetryable.UnsupportedEvent",
            HandlerError::Objects {
                retryable: true, ..
            } => "Retryable",
            HandlerError::Objects {
                retryable: false, ..
            } => "NonRetryable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Counts of one invocation, for the summary line and metrics.
#[derive(Debug, Default)]
struct Tally {
    objects: u64,
    skipped_objects: u64,
    failed_objects: u64,
    events: u64,
    records_skipped: u64,
    findings: [u64; 4],
    alerts: u64,
    suppressed: u64,
    deduplicated: u64,
    model_version: Option<String>,
}

impl Tally {
    fn add(&mut self, report: &Report) {
        self.objects += 1;
        if report.skipped.is_some() {
            self.skipped_objects += 1;
            return;
        }
        let s = &report.summary;
        self.events += s.records.saturating_sub(s.skipped);
        self.records_skipped += s.skipped;
        for (i, sev) in Severity::ALL.iter().enumerate() {
            self.findings[i] += s.findings.get(sev).copied().unwrap_or(0);
        }
        self.alerts += s.alerts;
        self.suppressed += s.suppressed;
        self.deduplicated += s.deduplicated;
        self.model_version = Some(s.model_version.clone());
    }
}

impl<O, M, F, A, P> Ingest<O, M, F, A, P>
where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
    P: ProfileStore,
{
    /// Loads the model at cold start, so the first event does not pay for it. A
    /// failure is only logged: the first invocation tries again.
    pub async fn warm_up(&self) {
        if let Err(e) = self.models.current().await {
            tracing::warn!(error = %e, "model not loaded at cold start; retrying on the first event");
        }
    }

    /// The Lambda entry point.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        self.handle_payload(event.payload).await
    }

    /// Handles a trigger payload: an S3 notification or an SQS batch of them.
    pub async fn handle_payload(&self, payload: Value) -> Result<Value, HandlerError> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let result = match parse_trigger(payload)? {
            Trigger::S3(objects) => {
                let total = objects.len();
                let (mut first, mut retryable) = (None, false);
                for object in &objects {
                    if let Err(e) = self.process(object, &mut tally).await {
                        retryable |= e.retry() == Retry::Retryable;
                        first.get_or_insert(e.to_string());
                    }
                }
                match first {
                    None => Ok(Value::Null),
                    Some(first) => Err(HandlerError::Objects {
                        failed: usize::try_from(tally.failed_objects).unwrap_or(usize::MAX),
                        total,
                        first,
                        retryable,
                    }),
                }
            }
            Trigger::Sqs(items) => {
                let mut failures = Vec::new();
                for item in items {
                    let ok = match &item.objects {
                        Err(e) => {
                            tracing::error!(message_id = %item.message_id, error = %e, "SQS message is not an S3 notification");
                            false
                        }
                        Ok(objects) => {
                            let mut ok = true;
                            for object in objects {
                                ok &= self.process(object, &mut tally).await.is_ok();
                            }
                            ok
                        }
                    };
                    if !ok {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = item.message_id;
                        failures.push(failure);
                    }
                }
                let mut response = SqsBatchResponse::default();
                response.batch_item_failures = failures;
                Ok(serde_json::to_value(response).unwrap_or(Value::Null))
            }
        };
        report(&tally, started);
        result
    }

    async fn process(&self, object: &ObjectRef, tally: &mut Tally) -> Result<(), PipelineError> {
        let ports = Ports {
            objects: &self.objects,
            models: &self.models,
            findings: &self.findings,
            alerts: &self.alerts,
            profiles: &self.profiles,
        };
        match run_object(object, &ports, &self.pipeline).await {
            Ok(report) => {
                if let Some(why) = report.skipped {
                    tracing::info!(object = %object, reason = why, "skipped object");
                }
                tally.add(&report);
                Ok(())
            }
            Err(e) => {
                tally.objects += 1;
                tally.failed_objects += 1;
                match e.retry() {
                    Retry::Retryable => {
                        tracing::warn!(object = %object, retry = "Retryable", error = %e, "object failed; it will be retried")
                    }
                    Retry::NonRetryable => {
                        tracing::error!(object = %object, retry = "NonRetryable", error = %e, "object failed")
                    }
                }
                Err(e)
            }
        }
    }
}

fn report(t: &Tally, started: Instant) {
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let model_version = t.model_version.as_deref().unwrap_or("none");
    let [low, medium, high, critical] = t.findings;
    tracing::info!(
        objects = t.objects,
        skipped_objects = t.skipped_objects,
        failed_objects = t.failed_objects,
        events = t.events,
        records_skipped = t.records_skipped,
        findings_low = low,
        findings_medium = medium,
        findings_high = high,
        findings_critical = critical,
        alerts = t.alerts,
        suppressed = t.suppressed,
        deduplicated = t.deduplicated,
        duration_ms,
        model_version,
        "processed invocation"
    );
    Metrics::new()
        .dimension("Source", "cloudtrail")
        .count("EventsRead", t.events)
        .count("RecordsSkipped", t.records_skipped)
        .count("FindingsLow", low)
        .count("FindingsMedium", medium)
        .count("FindingsHigh", high)
        .count("FindingsCritical", critical)
        .count("AlertsSent", t.alerts)
        .count("Suppressed", t.suppressed)
        .count("Deduplicated", t.deduplicated)
        .count("ObjectsFailed", t.failed_objects)
        .millis("DurationMs", duration_ms)
        .property("ModelVersion", model_version)
        .emit();
}
