//! Scores a CloudTrail batch: encode, run the forest, calibrate, add rule hits,
//! and build one [`Finding`] per event (with `severity: None` when nothing fired).

use super::{FAILED_CALL_PENALTY, combine, explain};
use crate::features::cloudtrail::{Col, FileStats};
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

/// Scores every event of a batch. Without a model only rules can fire.
pub fn score_batch(batch: &CtBatch, model: Option<&Model>) -> Vec<Finding> {
    let scored = model.map(|m| {
        let Encoder::CloudTrail(enc) = &m.encoder;
        let x = enc.encode(batch);
        let scores = m.forest.score(x.view());
        (m, x, scores)
    });
    let file = FileStats::new(batch);
    let model_version = model.map_or("none", |m| m.version());
    batch
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
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
            let (score, model_sev) = match &scored {
                Some((m, x, scores)) => {
                    let s = scores[i];
                    let row = x.row(i);
                    let row = row.as_slice().unwrap_or(&[]);
                    let if_sev = m.calibration.severity_score(s);
                    let hb = m.hbos.score(row);
                    let hb_sev = m.hbos_calibration.severity_score(hb);
                    if if_sev.is_some() {
                        detections.push(Detection { id: IFOREST.to_owned(), technique: None });
                        reasons.push(explain::tail_sentence("isolation forest", m.calibration.tail(s)));
                    }
                    if hb_sev.is_some() {
                        detections.push(Detection { id: HBOS.to_owned(), technique: None });
                        reasons.push(explain::tail_sentence("feature histograms", m.hbos_calibration.tail(hb)));
                    }
                    if if_sev.is_some() || hb_sev.is_some() {
                        reasons.extend(explain::feature_reasons(m, row, hb_sev.is_some(), batch, e, &file));
                    }
                    let sev = match (if_sev, hb_sev) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    let sev = if routine_read(e, row) {
                        if sev.is_some() {
                            reasons.push("a read by a known principal from a known network and client: kept low".to_owned());
                        }
                        sev.map(|v| v.min(ROUTINE_READ_CAP))
                    } else {
                        sev
                    };
                    (s, sev)
                }
                None => (rule_sev.map_or(0.0, |s| s / 10.0), None),
            };
            let severity_score = combine(rule_sev, model_sev);
            let severity = severity_score.and_then(Severity::from_score);
            Finding {
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
                model_version: model_version.to_owned(),
            }
        })
        .collect()
}
