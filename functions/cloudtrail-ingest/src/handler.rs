//! The handler: turns the trigger into objects, runs the core pipeline on each, and
//! maps the outcome back (SQS `batchItemFailures`, or an error for direct S3
//! invocations so that Lambda retries them). One summary log line and one EMF
//! metrics line per invocation.
//!
//! Time: the invocation's deadline (`Context::deadline`) less a [`Margin`] is
//! passed to the pipeline, which abandons the object in progress when it passes;
//! that object's message, and every message not started yet, is reported failed
//! (so retried), the rest of the batch completes. Messages start smallest first.
//! A hard limit half-way into the margin cancels an object stuck in a request.
//!
//! A message that can never succeed (not an S3 notification, an object that is
//! not a CloudTrail file, a missing object) goes to the dead-letter queue once,
//! with its reason, when `DEAD_LETTER_QUEUE_URL` is set.

use crate::config::Config;
use crate::dead_letter::{DeadLetter, SqsDeadLetters};
use crate::event::{EventError, SqsItem, Trigger, parse_trigger};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};
use trailhound_aws::emf::Metrics;
use trailhound_aws::{
    Clients, DynamoFindingStore, DynamoProfileStore, S3ModelSource, S3ObjectSource,
    SigningKeySource, SnsAlertSink,
};
use trailhound_core::Severity;
use trailhound_core::pipeline::{
    Deadline, Margin, PipelineConfig, PipelineError, Ports, Report, run_object_until,
};
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
    /// Time kept in reserve before the invocation's deadline.
    pub margin: Margin,
    /// Where messages that can never succeed go (`None`: the redrive policy).
    pub dead_letters: Option<SqsDeadLetters>,
}

/// The function as deployed: S3, DynamoDB and SNS adapters.
pub type AwsIngest = Ingest<S3ObjectSource, S3ModelSource, DynamoFindingStore, SnsAlertSink>;

impl AwsIngest {
    /// Builds the AWS adapters from the configuration; `sqs` reaches the
    /// dead-letter queue when one is configured.
    pub fn on_aws(cfg: &Config, clients: &Clients, sqs: &aws_sdk_sqs::Client) -> Self {
        Ingest {
            objects: S3ObjectSource::new(clients.s3.clone(), cfg.ingest.max_decompressed_bytes),
            models: S3ModelSource::new(
                clients.s3.clone(),
                &cfg.ingest.model_bucket,
                &cfg.model_key,
                cfg.ingest.model_refresh,
            )
            .with_source("cloudtrail")
            .with_signing_key(SigningKeySource::from_parameter(
                &clients.ssm,
                cfg.ingest.model_signing_key_parameter.as_deref(),
            )),
            findings: DynamoFindingStore::new(clients.dynamodb.clone(), &cfg.ingest.findings_table)
                .with_ttl_days(cfg.ingest.finding_ttl_days),
            alerts: SnsAlertSink::new(clients.sns.clone(), &cfg.ingest.alerts_topic_arn),
            profiles: cfg
                .profiles_table
                .as_ref()
                .map(|t| DynamoProfileStore::new(clients.dynamodb.clone(), t)),
            pipeline: cfg.pipeline(),
            margin: Margin::default(),
            dead_letters: cfg
                .dead_letter_queue_url
                .as_ref()
                .map(|url| SqsDeadLetters::new(sqs.clone(), url)),
        }
    }
}

/// When an invocation must wind down: `soft` is handed to the pipeline, `hard`
/// (half-way into the margin) cancels an object stuck awaiting a request.
#[derive(Debug, Clone, Copy)]
struct Limits {
    soft: Deadline,
    hard: Option<Duration>,
    started: Instant,
}

impl Limits {
    fn new(deadline: Option<SystemTime>, margin: Margin) -> Self {
        let started = Instant::now();
        let Some(limit) = deadline else {
            return Self {
                soft: Deadline::NEVER,
                hard: None,
                started,
            };
        };
        let available = limit
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let reserve = margin.of(available);
        Self {
            soft: Deadline::at(started + available.saturating_sub(reserve)),
            hard: Some(available.saturating_sub(reserve / 2)),
            started,
        }
    }

    /// Time left before the hard limit.
    fn hard_left(&self) -> Option<Duration> {
        self.hard.map(|h| h.saturating_sub(self.started.elapsed()))
    }
}

/// What became of one object.
enum Outcome {
    Done,
    /// Retry it (throttling, a timeout, the deadline).
    Retry,
    /// It can never succeed: this is why.
    Never(String),
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
    deadline_stops: u64,
    not_started: u64,
    dead_lettered: u64,
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

    /// The Lambda entry point. The context's deadline bounds the work (a default
    /// context, deadline 0, as in tests, means none).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let deadline = (event.context.deadline != 0).then(|| event.context.deadline());
        self.handle_until(event.payload, deadline).await
    }

    /// Handles a trigger payload without a deadline.
    pub async fn handle_payload(&self, payload: Value) -> Result<Value, HandlerError> {
        self.handle_until(payload, None).await
    }

    /// Handles a trigger payload, an S3 notification or an SQS batch of them,
    /// winding down [`Ingest::margin`] before `deadline`.
    pub async fn handle_until(
        &self,
        payload: Value,
        deadline: Option<SystemTime>,
    ) -> Result<Value, HandlerError> {
        let limits = Limits::new(deadline, self.margin);
        let started = limits.started;
        let mut tally = Tally::default();
        let result = match parse_trigger(payload)? {
            Trigger::S3(objects) => {
                let total = objects.len();
                let (mut first, mut retryable) = (None, false);
                for object in &objects {
                    if let Err(e) = self.process(object, &limits, &mut tally).await {
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
            Trigger::Sqs(mut items) => {
                // Smallest first: a huge object cannot keep the others from running.
                items.sort_by_key(|item| item.bytes);
                let mut failures = Vec::new();
                for item in items {
                    if !self.process_message(&item, &limits, &mut tally).await {
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

    /// Processes one SQS message; `false` reports it in `batchItemFailures`.
    async fn process_message(&self, item: &SqsItem, limits: &Limits, tally: &mut Tally) -> bool {
        let objects = match &item.objects {
            Ok(objects) => objects,
            Err(e) => {
                tracing::error!(message_id = %item.message_id, retry = "NonRetryable", error = %e, "SQS message is not an S3 notification");
                return self.dead_letter(item, &e.to_string(), tally).await;
            }
        };
        let mut outcome = Outcome::Done;
        for (i, object) in objects.iter().enumerate() {
            if limits.soft.passed() {
                // Never started: retried whole on the next delivery.
                tally.not_started += (objects.len() - i) as u64;
                tracing::warn!(message_id = %item.message_id, object = %object, "deadline reached before the object started; it will be retried");
                return false;
            }
            match self.process(object, limits, tally).await {
                Ok(()) => {}
                Err(e) if e.retry() == Retry::Retryable => outcome = Outcome::Retry,
                Err(e) => {
                    if !matches!(outcome, Outcome::Retry) {
                        outcome = Outcome::Never(e.to_string());
                    }
                }
            }
        }
        match outcome {
            Outcome::Done => true,
            Outcome::Retry => false,
            Outcome::Never(reason) => self.dead_letter(item, &reason, tally).await,
        }
    }

    /// Puts a message that can never succeed in the dead-letter queue; `true` when
    /// it is there (the message is then reported done), `false` to leave it to the
    /// redrive policy.
    async fn dead_letter(&self, item: &SqsItem, reason: &str, tally: &mut Tally) -> bool {
        let Some(dlq) = &self.dead_letters else {
            return false;
        };
        let letter = DeadLetter {
            message_id: &item.message_id,
            body: &item.body,
            reason,
        };
        match dlq.send(&letter).await {
            Ok(()) => {
                tally.dead_lettered += 1;
                tracing::error!(message_id = %item.message_id, reason, "message sent to the dead-letter queue; it will not be retried");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "dead-letter queue unreachable; the redrive policy keeps the message");
                false
            }
        }
    }

    async fn process(
        &self,
        object: &ObjectRef,
        limits: &Limits,
        tally: &mut Tally,
    ) -> Result<(), PipelineError> {
        let ports = Ports {
            objects: &self.objects,
            models: &self.models,
            findings: &self.findings,
            alerts: &self.alerts,
            profiles: &self.profiles,
        };
        let run = run_object_until(object, &ports, &self.pipeline, limits.soft);
        let result = match limits.hard_left() {
            None => run.await,
            // Cancelling drops the object between awaits; what it stored is
            // stored again as a no-op on retry.
            Some(left) => tokio::time::timeout(left, run).await.unwrap_or_else(|_| {
                Err(PipelineError::Deadline {
                    object: object.clone(),
                    records: 0,
                })
            }),
        };
        if let Err(PipelineError::Deadline { records, .. }) = &result {
            tally.objects += 1;
            tally.failed_objects += 1;
            tally.deadline_stops += 1;
            tracing::warn!(object = %object, records, retry = "Retryable", "object abandoned at the deadline; it will be retried");
            return result.map(|_| ());
        }
        match result {
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
        deadline_stops = t.deadline_stops,
        not_started = t.not_started,
        dead_lettered = t.dead_lettered,
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
        .count("DeadlineStops", t.deadline_stops)
        .count("ObjectsNotStarted", t.not_started)
        .count("DeadLettered", t.dead_lettered)
        .millis("DurationMs", duration_ms)
        .property("ModelVersion", model_version)
        .emit();
}
