//! Scores a CloudTrail batch: encode, run the forest, calibrate, add rule hits,
//! and build one [`Finding`] per event (with `severity: None` when nothing fired).

use super::{FAILED_CALL_PENALTY, combine, explain};
use crate::features::cloudtrail::FileStats;
use crate::finding::{Detection, Finding, finding_id};
use crate::models::artifact::{Encoder, Model};
use crate::rules::builtin;
use crate::severity::Severity;
use crate::sources::cloudtrail::{CtBatch, ErrorClass, SOURCE};
use crate::timefmt;

/// Id of the Isolation Forest detection.
pub const IFOREST: &str = "iforest";

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
                    let sev = m.calibration.severity_score(s);
                    if sev.is_some() {
                        detections.push(Detection {
                            id: IFOREST.to_owned(),
                            technique: None,
                        });
                        let tail = m.calibration.tail(s);
                        reasons.push(explain::tail_sentence(tail));
                        let row = x.row(i);
                        if let Some(row) = row.as_slice() {
                            reasons.extend(explain::feature_reasons(m, row, batch, e, &file));
                        }
                    }
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
