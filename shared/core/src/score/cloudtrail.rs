//! Scores a CloudTrail batch: encode, run the forest, calibrate, add rule hits,
//! and build one [`Finding`] per event (with `severity: None` when nothing fired).

use super::{FAILED_CALL_PENALTY, combine, explain};
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
        }
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
                let x = prepared.rows(start..end);
                let k = x.nrows();
                m.forest.score_into(x.view(), &mut self.scores[..k]);
                for (j, e) in events[start..start + k].iter().enumerate() {
                    let row = x.row(j);
                    let view = ModelView {
                        model: m,
                        row: row.as_slice().unwrap_or(&[]),
                        score: self.scores[j],
                        file: prepared.file(),
                    };
                    out.extend(judge(self.batch, e, Some(&view), self.keep_all));
                }
            }
            None => {
                for e in &events[start..end] {
                    out.extend(judge(self.batch, e, None, self.keep_all));
                }
            }
        }
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
    let (score, model_sev) = match view {
        Some(v) => (
            v.score,
            model_verdict(batch, e, v, &mut detections, &mut reasons),
        ),
        None => (rule_sev.map_or(0.0, |s| s / 10.0), None),
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
