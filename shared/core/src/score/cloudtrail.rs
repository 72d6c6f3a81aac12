//! Scores a CloudTrail batch: encode, run the forest, calibrate, add rule hits,
//! and build one [`Finding`] per event (with `severity: None` when nothing fired).

use super::{FAILED_CALL_PENALTY, combine, explain};
use crate::baseline::{BaselineConfig, BatchBaseline, EventBaseline, Profile};
use crate::features::cloudtrail::{BatchEncoding, Col, FileStats};
use crate::finding::{Detection, Finding, finding_id};
use crate::models::artifact::{Encoder, Model};
use crate::rules::builtin;
use crate::severity::Severity;
use crate::sources::cloudtrail::{CtBatch, CtEvent, ErrorClass, IdentityType, SOURCE};
use crate::timefmt;

/// Id of the Isolation Forest detection.
pub const IFOREST: &str = "iforest";
/// Id of the histogram (HBOS) detection.
pub const HBOS: &str = "hbos";

/// Highest model-only severity score of a routine read (just under medium).
pub const ROUTINE_READ_CAP: f64 = 3.9;

/// A read-only call by a principal seen in training, from a network and with a
/// client it used before, not by root: rare reads like this are how people work
/// (a first `ListStacks`), not how accounts are attacked, so the model alone keeps
/// them low. Stolen keys give themselves away by network, client or volume.
fn routine_read(e: &CtEvent, row: &[f32]) -> bool {
    let at = |c: Col| row.get(c as usize).copied().unwrap_or(0.0);
    e.read_only == Some(true)
        && e.identity != IdentityType::Root
        && at(Col::NewNetwork) == 0.0
        && at(Col::NewClient) == 0.0
        && at(Col::PrincipalRarity) < 5.0
        && at(Col::PrincipalErrorRatio) < 0.5
}

/// Rows encoded and scored at a time: memory stays bounded whatever the object size.
const CHUNK: usize = 4096;

/// What the model says about one event.
struct ModelView<'a> {
    model: &'a Model,
    row: &'a [f32],
    score: f64,
    file: &'a FileStats,
}

/// Scores a batch chunk by chunk, so that callers can store and forget findings
/// as they come and memory stays bounded even when most events are flagged.
pub struct Scorer<'a> {
    batch: &'a CtBatch,
    model: Option<(&'a Model, BatchEncoding<'a>)>,
    keep_all: bool,
    next: usize,
    scores: Vec<f64>,
    baseline: Option<BatchBaseline<'a>>,
}

impl<'a> Scorer<'a> {
    /// Prepares a batch (per-batch lookups and counts happen here, once).
    pub fn new(batch: &'a CtBatch, model: Option<&'a Model>, keep_all: bool) -> Self {
        // A model of another source cannot score CloudTrail: rules only.
        let model = model.and_then(|m| match &m.encoder {
            Encoder::CloudTrail(enc) => Some((m, enc.prepare(batch))),
            _ => None,
        });
        Self {
            batch,
            model,
            keep_all,
            next: 0,
            scores: vec![0.0; CHUNK],
            baseline: None,
        }
    }

    /// Judges events against their principals' profiles too (behavioural
    /// baselines): `profiles` holds those of the batch's principals that exist.
    pub fn with_profiles(
        mut self,
        profiles: &'a std::collections::HashMap<String, Profile>,
        cfg: BaselineConfig,
    ) -> Self {
        let encoder = self.model.as_ref().and_then(|(m, _)| match &m.encoder {
            Encoder::CloudTrail(enc) => Some(enc),
            _ => None,
        });
        self.baseline = Some(BatchBaseline::new(self.batch, profiles, cfg, encoder));
        self
    }

    /// Findings of the next chunk of up to 4,096 events: those that reached a
    /// severity, or every event with `keep_all`. `None` when the batch is done.
    pub fn next_chunk(&mut self) -> Option<Vec<Finding>> {
        let events = &self.batch.events;
        if self.next >= events.len() {
            return None;
        }
        let start = self.next;
        let end = (start + CHUNK).min(events.len());
        self.next = end;
        let mut out = Vec::new();
        match &self.model {
            Some((m, prepared)) => {
                let mut x = prepared.rows(start..end);
                let k = x.nrows();
                let bases: Vec<Option<EventBaseline>> = events[start..start + k]
                    .iter()
                    .enumerate()
                    .map(|(j, e)| {
                        let b = self.baseline.as_ref()?.event(self.batch, e);
                        if let Some(row) = x.row_mut(j).into_slice() {
                            b.apply_to_row(row, e.read_only == Some(true));
                        }
                        Some(b)
                    })
                    .collect();
                m.forest.score_into(x.view(), &mut self.scores[..k]);
                for (j, e) in events[start..start + k].iter().enumerate() {
                    let row = x.row(j);
                    let view = ModelView {
                        model: m,
                        row: row.as_slice().unwrap_or(&[]),
                        score: self.scores[j],
                        file: prepared.file(),
                    };
                    let base = bases.get(j).copied().flatten();
                    out.extend(judge(
                        self.batch,
                        e,
                        Some(&view),
                        base.as_ref(),
                        self.keep_all,
                    ));
                }
            }
            None => {
                for e in &events[start..end] {
                    let base = self.baseline.as_ref().map(|b| b.event(self.batch, e));
                    out.extend(judge(self.batch, e, None, base.as_ref(), self.keep_all));
                }
            }
        }
        let version = self.model.as_ref().map_or("none", |(m, _)| m.version());
        out.extend(correlation_findings(self.batch, start..end, version));
        Some(out)
    }
}

/// Scores every event of a batch and returns findings for those that reached a
/// severity, or for every event with `keep_all`. Without a model only rules fire.
pub fn score_batch(batch: &CtBatch, model: Option<&Model>, keep_all: bool) -> Vec<Finding> {
    let mut scorer = Scorer::new(batch, model, keep_all);
    let mut out = Vec::new();
    while let Some(chunk) = scorer.next_chunk() {
        out.extend(chunk);
    }
    out
}

/// Combines rule and model verdicts for one event into a finding (or `None` when
/// it reached no severity and `keep_all` is off).
fn judge(
    batch: &CtBatch,
    e: &CtEvent,
    view: Option<&ModelView<'_>>,
    base: Option<&EventBaseline>,
    keep_all: bool,
) -> Option<Finding> {
    let mut detections = Vec::new();
    let mut reasons = Vec::new();
    let mut rule_sev = None;
    if let Some(rule) = e.rule.and_then(builtin::rule) {
        let mut sev = rule.severity;
        reasons.push(format!("{} ({})", rule.title, rule.technique));
        if e.error != ErrorClass::None {
            sev = (sev - FAILED_CALL_PENALTY).max(1.0);
            reasons.push(format!(
                "the attempt failed with {}",
                batch.str(e.error_code)
            ));
        }
        rule_sev = Some(sev);
        detections.push(Detection {
            id: rule.id.to_owned(),
            technique: Some(rule.technique.to_owned()),
        });
    }
    rule_sev = sigma_verdict(batch, e, rule_sev, &mut detections, &mut reasons);
    let (score, model_sev) = match view {
        Some(v) => (
            v.score,
            model_verdict(batch, e, v, &mut detections, &mut reasons),
        ),
        None => (rule_sev.map_or(0.0, |s| s / 10.0), None),
    };
    // Behavioural baseline: learning period and novelty for this principal.
    let model_sev = match base {
        Some(b) => {
            let call = crate::baseline::Call {
                read_only: e.read_only == Some(true),
                failed: e.error != ErrorClass::None || e.login_failed,
                attack_tooling: e.ua == crate::sources::cloudtrail::UaFamily::Offensive,
            };
            let sev = b.adjust_model(model_sev, call, &mut reasons);
            b.add_reasons(batch, e, &mut reasons);
            sev
        }
        None => model_sev,
    };
    let severity_score = combine(rule_sev, model_sev);
    let severity = severity_score.and_then(Severity::from_score);
    if severity.is_none() && !keep_all {
        return None;
    }
    Some(Finding {
        finding_id: finding_id(SOURCE, &e.event_id),
        event_id: e.event_id.to_string(),
        source: SOURCE.to_owned(),
        time: timefmt::format_rfc3339(e.time),
        account: batch.str(e.account).to_owned(),
        region: batch.str(e.region).to_owned(),
        principal: batch.str(e.principal).to_owned(),
        action: format!(
            "{}:{}",
            batch.str(e.source).trim_end_matches(".amazonaws.com"),
            batch.str(e.name)
        ),
        score: (score * 1e6).round() / 1e6,
        severity,
        severity_score: severity_score.unwrap_or(0.0),
        detections,
        reasons,
        model_version: view.map_or("none", |v| v.model.version()).to_owned(),
        triage: crate::finding::Triage::default(),
    })
}

/// Adds the event's Sigma hits (detection and reason each); the strongest rule
/// severity wins, as between built-in rules. No failed-call penalty: a Sigma rule
/// says itself whether it wants `errorCode: null`.
fn sigma_verdict(
    batch: &CtBatch,
    e: &CtEvent,
    mut rule_sev: Option<f64>,
    detections: &mut Vec<Detection>,
    reasons: &mut Vec<String>,
) -> Option<f64> {
    for rule in batch.sigma_rules(e) {
        reasons.push(match rule.technique() {
            Some(t) => format!("Sigma: {} ({t})", rule.title),
            None => format!("Sigma: {}", rule.title),
        });
        detections.push(Detection {
            id: rule.id.clone(),
            technique: rule.technique().map(str::to_owned),
        });
        rule_sev = Some(rule_sev.map_or(rule.severity, |s| s.max(rule.severity)));
    }
    rule_sev
}

/// Findings of the Sigma thresholds reached by events `range` of the batch: one
/// per (rule, group, window), its id derived from those so replays do not
/// duplicate it, its reasons carrying the evidence.
fn correlation_findings(
    batch: &CtBatch,
    range: std::ops::Range<usize>,
    model_version: &str,
) -> Vec<Finding> {
    let Some(rules) = batch.rule_set() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, hit) in batch.correlations.iter().filter(|(i, _)| range.contains(i)) {
        let (Some(e), Some(rule)) = (batch.events.get(*i), rules.rule(hit.rule)) else {
            continue;
        };
        let start = timefmt::format_rfc3339(hit.window_start);
        let end = timefmt::format_rfc3339(hit.window_end);
        let minutes = hit.timespan / 60;
        let group = if hit.group.is_empty() {
            "all events".to_owned()
        } else {
            hit.group.clone()
        };
        let key = format!(
            "sigma-correlation\0{}\0{}\0{}",
            rule.id, hit.group, hit.window_start
        );
        let score = combine(Some(rule.severity), None).unwrap_or(rule.severity);
        out.push(Finding {
            finding_id: finding_id(SOURCE, &key),
            event_id: e.event_id.to_string(),
            source: SOURCE.to_owned(),
            time: end.clone(),
            account: batch.str(e.account).to_owned(),
            region: batch.str(e.region).to_owned(),
            principal: batch.str(e.principal).to_owned(),
            action: format!(
                "{}:{}",
                batch.str(e.source).trim_end_matches(".amazonaws.com"),
                batch.str(e.name)
            ),
            score: (score / 10.0 * 1e6).round() / 1e6,
            severity: Severity::from_score(score),
            severity_score: score,
            detections: vec![Detection {
                id: rule.id.clone(),
                technique: rule.technique().map(str::to_owned),
            }],
            reasons: vec![
                match rule.technique() {
                    Some(t) => format!("Sigma: {} ({t})", rule.title),
                    None => format!("Sigma: {}", rule.title),
                },
                format!(
                    "{} matching events within {minutes} min ({start} to {end}) for {group}",
                    hit.count
                ),
            ],
            model_version: model_version.to_owned(),
            triage: Default::default(),
        });
    }
    out
}

/// The model-only severity of an event: the stronger of the two calibrated
/// detectors, kept low for routine reads; adds detections and reasons.
fn model_verdict(
    batch: &CtBatch,
    e: &CtEvent,
    v: &ModelView<'_>,
    detections: &mut Vec<Detection>,
    reasons: &mut Vec<String>,
) -> Option<f64> {
    let m = v.model;
    let if_sev = m.calibration.severity_score(v.score);
    let hb = m.hbos.score(v.row);
    let hb_sev = m.hbos_calibration.severity_score(hb);
    if if_sev.is_some() {
        detections.push(Detection {
            id: IFOREST.to_owned(),
            technique: None,
        });
        reasons.push(explain::tail_sentence(
            "isolation forest",
            m.calibration.tail(v.score),
        ));
    }
    if hb_sev.is_some() {
        detections.push(Detection {
            id: HBOS.to_owned(),
            technique: None,
        });
        reasons.push(explain::tail_sentence(
            "feature histograms",
            m.hbos_calibration.tail(hb),
        ));
    }
    let sev = match (if_sev, hb_sev) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }?;
    reasons.extend(explain::feature_reasons(
        m,
        v.row,
        hb_sev.is_some(),
        batch,
        e,
        v.file,
    ));
    if routine_read(e, v.row) {
        reasons.push(
            "a read by a known principal from a known network and client: kept low".to_owned(),
        );
        return Some(sev.min(ROUTINE_READ_CAP));
    }
    Some(sev)
}
