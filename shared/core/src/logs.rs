//! The CloudWatch Logs pipeline: subscription payload → decode (capped) → route by
//! log group → parse each log event by its source → score → store → alert.
//!
//! CloudTrail delivered to CloudWatch Logs goes through the CloudTrail path
//! ([`CtBatch::push_json`] and its scorer). VPC Flow Logs and access logs are
//! aggregated into 60-second windows per source address and per target
//! ([`crate::features::window`]) and scored per window, so a flood is one finding.
//!
//! Aggregation state lives in one [`LogsBatch`]: the Lambda builds one per
//! invocation (one payload), the CLI one per input file (every payload in it).
//! Windows therefore never span invocations; doing so would need a shared store of
//! per-entity window counters (e.g. DynamoDB items keyed by source and minute with
//! atomic adds and a TTL) read back before scoring.

use crate::decode::Limits;
use crate::features::access_log::WebBatch;
use crate::features::vpcflow::FlowBatch;
use crate::features::window::EventIds;
use crate::finding::Finding;
use crate::models::artifact::Model;
use crate::pipeline::{Deadline, DeliveryStats, PipelineConfig, deliver};
use crate::ports::{AlertSink, FindingStore, ModelSource, PortError, Retry};
use crate::score::cloudtrail::Scorer;
use crate::score::net::Scored;
use crate::severity::Severity;
use crate::sources::access_log;
use crate::sources::cloudtrail::CtBatch;
use crate::sources::cwl::{self, CwlError, LogSource, MessageType, Route, SourceMap};
use crate::sources::vpcflow::FlowLine;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Settings of the logs pipeline.
#[derive(Debug, Clone, Default)]
pub struct LogsConfig {
    /// Limits, alert severity, `keep_all`.
    pub pipeline: PipelineConfig,
    /// Log group → source patterns, with sniffing as the fallback.
    pub sources: SourceMap,
}

/// One model source per log source: the Lambda holds three S3 model sources, the
/// CLI one file for all three (each scorer ignores a model of another source).
#[derive(Debug)]
pub struct ModelSet<'a, C, V, W> {
    /// CloudTrail delivered through CloudWatch Logs.
    pub cloudtrail: &'a C,
    /// VPC Flow Logs.
    pub vpcflow: &'a V,
    /// Web access logs.
    pub access_log: &'a W,
}

/// The ports one run uses.
#[derive(Debug)]
pub struct LogsPorts<'a, C, V, W, F, A> {
    /// Models per source.
    pub models: &'a ModelSet<'a, C, V, W>,
    /// Where findings are stored.
    pub findings: &'a F,
    /// Where alerts go.
    pub alerts: &'a A,
}

/// Why a payload failed.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The payload cannot be decoded (bad base64, gzip, JSON, over the cap):
    /// retrying will not help.
    #[error("bad subscription payload: {0}")]
    BadPayload(#[source] CwlError),
    /// A port failed.
    #[error("{stage} failed for log group {log_group}: {source}")]
    Port {
        /// The payload's log group.
        log_group: String,
        /// `model`, `store` or `alert`.
        stage: &'static str,
        /// The port's error, with its retry class.
        #[source]
        source: PortError,
    },
    /// The [`Deadline`] passed before the payload was done: retry it with more time.
    #[error("stopped the payload of log group {log_group} at the deadline")]
    Deadline {
        /// The payload's log group.
        log_group: String,
    },
}

/// Window findings are stored this many at a time, with a deadline check between.
const WINDOW_CHUNK: usize = 512;

impl LogsError {
    /// Whether Lambda should retry the invocation.
    pub fn retry(&self) -> Retry {
        match self {
            LogsError::BadPayload(_) => Retry::NonRetryable,
            LogsError::Port { source, .. } => source.retry,
            LogsError::Deadline { .. } => Retry::Retryable,
        }
    }
}

/// Counts of what a batch held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsCounts {
    /// Payloads read.
    pub payloads: u64,
    /// `CONTROL_MESSAGE` payloads acknowledged and ignored.
    pub control: u64,
    /// Log events received.
    pub events: u64,
    /// Log events parsed and scored.
    pub parsed: u64,
    /// Log events that did not parse (skipped).
    pub skipped: u64,
    /// Log events of a group whose source is neither configured nor recognisable.
    pub unrouted: u64,
    /// VPC Flow Logs NODATA/SKIPDATA records.
    pub no_data: u64,
}

/// The parsed log events of one or more payloads, per source.
#[derive(Debug, Default)]
pub struct LogsBatch {
    /// CloudTrail events (delivered through CloudWatch Logs).
    pub cloudtrail: CtBatch,
    /// Flow records.
    pub vpcflow: FlowBatch,
    /// Requests.
    pub access_log: WebBatch,
    /// Counts.
    pub counts: LogsCounts,
    /// Log groups seen (for reports and errors).
    pub log_groups: Vec<String>,
}

thread_local! {
    /// Decoder and payload buffer reused from one payload to the next on this thread,
    /// also across batches (the Lambda builds one batch per invocation).
    static SCRATCH: std::cell::RefCell<Option<Box<(cwl::Decoder, cwl::Payload)>>> =
        const { std::cell::RefCell::new(None) };
}

impl LogsBatch {
    /// An empty batch whose CloudTrail events are also matched against these Sigma rules.
    pub fn with_rules(rules: Option<std::sync::Arc<crate::rules::sigma::RuleSet>>) -> Self {
        Self {
            cloudtrail: CtBatch::with_rules(rules),
            ..Self::default()
        }
    }

    /// Decodes one Lambda subscription event and adds its log events.
    pub fn add_event(
        &mut self,
        event_json: &[u8],
        limits: &Limits,
        sources: &SourceMap,
    ) -> Result<(), CwlError> {
        let mut scratch = SCRATCH.with_borrow_mut(Option::take).unwrap_or_default();
        let (decoder, payload) = &mut *scratch;
        let added = decoder
            .decode_event(event_json, limits, payload)
            .and_then(|()| self.add_payload(payload, sources));
        // A payload far above the usual size does not stay allocated.
        if payload.capacity() <= 4 << 20 {
            SCRATCH.with_borrow_mut(|s| *s = Some(scratch));
        }
        added
    }

    /// Adds the log events of a decoded payload.
    pub fn add_payload(
        &mut self,
        payload: &cwl::Payload,
        sources: &SourceMap,
    ) -> Result<(), CwlError> {
        let sub = payload.parse()?;
        self.counts.payloads += 1;
        if sub.message_type == MessageType::Control {
            self.counts.control += 1;
            return Ok(());
        }
        let group: &str = &sub.log_group;
        if !self.log_groups.iter().any(|g| g == group) {
            self.log_groups.push(group.to_owned());
        }
        let n = sub.log_events.len() as u64;
        self.counts.events += n;
        let sample = sub.log_events.first().map_or("", |e| &*e.message);
        let Some(route) = sources.route(group, sample) else {
            self.counts.unrouted += n;
            return Ok(());
        };
        let before = self.counts.skipped;
        match route {
            Route::CloudTrail => {
                for e in &sub.log_events {
                    if self.cloudtrail.push_json(e.message.as_bytes()).is_err() {
                        self.counts.skipped += 1;
                    }
                }
                self.cloudtrail.skipped += self.counts.skipped - before;
            }
            Route::VpcFlow(format) => {
                let b = &mut self.vpcflow;
                if b.account.is_empty() {
                    b.account = sub.owner.to_string();
                }
                for e in &sub.log_events {
                    match format.parse_line(&e.message) {
                        Ok(FlowLine::Record(r)) => b.push(e.id, &r),
                        Ok(_) => self.counts.no_data += 1,
                        Err(_) => self.counts.skipped += 1,
                    }
                }
                b.skipped += self.counts.skipped - before;
            }
            Route::AccessLog(format) => {
                let b = &mut self.access_log;
                if b.account.is_empty() {
                    b.account = sub.owner.to_string();
                }
                for e in &sub.log_events {
                    match access_log::parse_line(&e.message, format) {
                        Ok(r) => b.push(e.id, e.timestamp, &r),
                        Err(_) => self.counts.skipped += 1,
                    }
                }
                b.skipped += self.counts.skipped - before;
            }
        }
        self.counts.parsed = self.cloudtrail.events.len() as u64
            + self.vpcflow.events.len() as u64
            + self.access_log.events.len() as u64;
        Ok(())
    }
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct LogsReport {
    /// Counts of the input.
    pub counts: LogsCounts,
    /// Findings stored (new or not), by severity.
    pub findings: BTreeMap<Severity, u64>,
    /// Alerts published by this run.
    pub alerts: u64,
    /// Model version used per source (`none` without one).
    pub model_versions: BTreeMap<&'static str, String>,
    /// Findings with a severity; with `keep_all`, one line per log event instead
    /// (its strongest finding, with the event's own id).
    pub output: Vec<Finding>,
}

/// Decodes one Lambda subscription event and runs it end to end. Safe to repeat:
/// finding ids are deterministic and the store refuses duplicates.
pub async fn run_payload<C, V, W, F, A>(
    event_json: &[u8],
    ports: &LogsPorts<'_, C, V, W, F, A>,
    cfg: &LogsConfig,
) -> Result<LogsReport, LogsError>
where
    C: ModelSource,
    V: ModelSource,
    W: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    run_payload_until(event_json, ports, cfg, Deadline::NEVER).await
}

/// Like [`run_payload`], giving up with [`LogsError::Deadline`] (retryable) once
/// `deadline` passes; what was stored before the stop is a no-op on retry.
pub async fn run_payload_until<C, V, W, F, A>(
    event_json: &[u8],
    ports: &LogsPorts<'_, C, V, W, F, A>,
    cfg: &LogsConfig,
    deadline: Deadline,
) -> Result<LogsReport, LogsError>
where
    C: ModelSource,
    V: ModelSource,
    W: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    let mut batch = LogsBatch::with_rules(cfg.pipeline.rules.clone());
    batch
        .add_event(event_json, &cfg.pipeline.limits, &cfg.sources)
        .map_err(LogsError::BadPayload)?;
    run_batch_until(&batch, ports, cfg, deadline).await
}

/// Scores, stores and alerts a batch (one payload or many).
pub async fn run_batch<C, V, W, F, A>(
    batch: &LogsBatch,
    ports: &LogsPorts<'_, C, V, W, F, A>,
    cfg: &LogsConfig,
) -> Result<LogsReport, LogsError>
where
    C: ModelSource,
    V: ModelSource,
    W: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    run_batch_until(batch, ports, cfg, Deadline::NEVER).await
}

/// Like [`run_batch`], checking `deadline` before each source and between chunks
/// of findings (never inside one, so a stop leaves nothing stored but unalerted).
pub async fn run_batch_until<C, V, W, F, A>(
    batch: &LogsBatch,
    ports: &LogsPorts<'_, C, V, W, F, A>,
    cfg: &LogsConfig,
    deadline: Deadline,
) -> Result<LogsReport, LogsError>
where
    C: ModelSource,
    V: ModelSource,
    W: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    let group = batch.log_groups.join(",");
    let stopped = || LogsError::Deadline {
        log_group: group.clone(),
    };
    let port_err = |stage: &'static str| {
        let group = group.clone();
        move |source: PortError| LogsError::Port {
            log_group: group,
            stage,
            source,
        }
    };
    let mut report = LogsReport {
        counts: batch.counts.clone(),
        ..LogsReport::default()
    };
    let mut stats = DeliveryStats::default();
    let keep_all = cfg.pipeline.keep_all;

    if !batch.cloudtrail.events.is_empty() {
        let model = ports
            .models
            .cloudtrail
            .current()
            .await
            .map_err(port_err("model"))?;
        note_version(
            &mut report,
            crate::sources::cloudtrail::SOURCE,
            model.as_ref(),
        );
        let mut scorer = Scorer::new(&batch.cloudtrail, model.as_deref(), keep_all);
        while let Some(mut chunk) = scorer.next_chunk() {
            if deadline.passed() {
                return Err(stopped());
            }
            deliver(
                &mut chunk,
                ports.findings,
                ports.alerts,
                &cfg.pipeline,
                &mut stats,
            )
            .await
            .map_err(|e| port_err(e.stage)(e.source))?;
            if keep_all {
                report.output.extend(chunk);
            } else {
                report
                    .output
                    .extend(chunk.into_iter().filter(|f| f.severity.is_some()));
            }
        }
    }
    if !batch.vpcflow.events.is_empty() {
        if deadline.passed() {
            return Err(stopped());
        }
        let model = ports
            .models
            .vpcflow
            .current()
            .await
            .map_err(port_err("model"))?;
        note_version(
            &mut report,
            crate::features::vpcflow::SOURCE,
            model.as_ref(),
        );
        let scored = crate::score::vpcflow::score_with(
            &batch.vpcflow,
            model.as_deref(),
            cfg.pipeline.keep_all,
        );
        finish_windows(
            scored,
            &batch.vpcflow.ids,
            ports,
            cfg,
            deadline,
            &mut stats,
            &mut report,
        )
        .await
        .map_err(|e| match e {
            WindowStop::Delivery(e) => port_err(e.stage)(e.source),
            WindowStop::Deadline => stopped(),
        })?;
    }
    if !batch.access_log.events.is_empty() {
        if deadline.passed() {
            return Err(stopped());
        }
        let model = ports
            .models
            .access_log
            .current()
            .await
            .map_err(port_err("model"))?;
        note_version(
            &mut report,
            crate::features::access_log::SOURCE,
            model.as_ref(),
        );
        let scored = crate::score::access_log::score_with(
            &batch.access_log,
            model.as_deref(),
            cfg.pipeline.keep_all,
        );
        finish_windows(
            scored,
            &batch.access_log.ids,
            ports,
            cfg,
            deadline,
            &mut stats,
            &mut report,
        )
        .await
        .map_err(|e| match e {
            WindowStop::Delivery(e) => port_err(e.stage)(e.source),
            WindowStop::Deadline => stopped(),
        })?;
    }
    report.findings = stats.findings.clone();
    report.alerts = stats.alerts;
    stats.finish().map_err(|e| port_err(e.stage)(e.source))?;
    Ok(report)
}

fn note_version(report: &mut LogsReport, source: &'static str, model: Option<&Arc<Model>>) {
    report.model_versions.insert(
        source,
        model.map_or_else(|| "none".to_owned(), |m| m.version().to_owned()),
    );
}

/// Why [`finish_windows`] stopped.
enum WindowStop {
    Delivery(crate::pipeline::DeliveryError),
    Deadline,
}

/// Delivers the window findings that reached a severity and fills the output.
async fn finish_windows<C, V, W, F, A>(
    mut scored: Scored,
    ids: &EventIds,
    ports: &LogsPorts<'_, C, V, W, F, A>,
    cfg: &LogsConfig,
    deadline: Deadline,
    stats: &mut DeliveryStats,
    report: &mut LogsReport,
) -> Result<(), WindowStop>
where
    F: FindingStore,
    A: AlertSink,
{
    let mut flagged: Vec<Finding> = if cfg.pipeline.keep_all {
        scored.flagged().cloned().collect()
    } else {
        std::mem::take(&mut scored.findings)
            .into_iter()
            .filter(|f| f.severity.is_some())
            .collect()
    };
    for part in flagged.chunks_mut(WINDOW_CHUNK) {
        if deadline.passed() {
            return Err(WindowStop::Deadline);
        }
        deliver(part, ports.findings, ports.alerts, &cfg.pipeline, stats)
            .await
            .map_err(WindowStop::Delivery)?;
    }
    if cfg.pipeline.keep_all {
        // Carry the triage decided at delivery over to the per-event lines.
        let by_id: std::collections::HashMap<&str, &Finding> =
            flagged.iter().map(|f| (f.finding_id.as_str(), f)).collect();
        for f in &mut scored.findings {
            if let Some(d) = by_id.get(f.finding_id.as_str()) {
                f.triage = d.triage.clone();
            }
        }
        report.output.extend(scored.per_event(ids));
    } else {
        report.output.extend(flagged);
    }
    Ok(())
}

/// Which source a log group would be routed to, for reports.
pub fn source_name(s: LogSource) -> &'static str {
    s.as_str()
}
