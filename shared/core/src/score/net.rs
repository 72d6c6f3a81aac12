//! What the network and web sources share when scoring windows: the model verdict
//! (Isolation Forest, PCA reconstruction error and histograms, each calibrated on
//! training windows), threshold rules, one finding per window, and the map from each
//! log event to the strongest finding it is part of.

use super::{combine, explain};
use crate::features::FeatureDef;
use crate::features::window::EventIds;
use crate::finding::{Detection, Finding, finding_id};
use crate::models::artifact::Model;
use crate::severity::Severity;
use crate::timefmt;

/// Id of the Isolation Forest detection.
pub const IFOREST: &str = "iforest";
/// Id of the PCA reconstruction-error detection.
pub const PCA: &str = "pca";
/// Id of the histogram (HBOS) detection.
pub const HBOS: &str = "hbos";

/// Highest model-only severity score when only one detector finds a window unusual,
/// or when the source is familiar (just under medium). Windows are few and varied,
/// so one detector's extreme tail is reached by ordinary traffic every day; two
/// detectors agreeing is rare for it.
pub const SINGLE_DETECTOR_CAP: f64 = 3.9;

/// A threshold rule or payload detection that fired on a window.
#[derive(Debug, Clone)]
pub struct RuleHit {
    /// Stable id (`web.brute_force`, `net.port_scan`, …).
    pub id: &'static str,
    /// MITRE ATT&CK technique.
    pub technique: &'static str,
    /// Severity score, 1.0–10.0.
    pub severity: f64,
    /// One sentence with the evidence.
    pub reason: String,
}

/// What the model says about one window.
#[derive(Debug, Clone, Default)]
pub struct ModelVerdict {
    /// Isolation Forest score (0..1).
    pub score: f64,
    /// Model-only severity score, when unusual.
    pub severity: Option<f64>,
    /// Detectors that fired.
    pub detections: Vec<Detection>,
    /// Why.
    pub reasons: Vec<String>,
}

/// Runs the three detectors on a row and calibrates each; the strongest decides,
/// kept low when only one detector fires or when `familiar` (the source sent as
/// much in some training minute, to known targets).
pub fn model_verdict(m: &Model, row: &[f32], names: &[FeatureDef], familiar: bool) -> ModelVerdict {
    let mut v = ModelVerdict {
        score: m.forest.score_row(row),
        ..ModelVerdict::default()
    };
    let mut sev: Option<f64> = None;
    let mut add = |id: &str, what: &str, s: Option<f64>, tail: f64, v: &mut ModelVerdict| {
        if let Some(s) = s {
            v.detections.push(Detection {
                id: id.to_owned(),
                technique: None,
            });
            v.reasons.push(explain::tail_sentence(what, tail));
            sev = Some(sev.map_or(s, |x: f64| x.max(s)));
        }
    };
    let if_sev = m.calibration.severity_score(v.score);
    add(
        IFOREST,
        "isolation forest",
        if_sev,
        m.calibration.tail(v.score),
        &mut v,
    );
    let mut residuals = None;
    if let Some(p) = &m.pca {
        let e = p.pca.score(row);
        let s = p.calibration.severity_score(e);
        add(
            PCA,
            "PCA reconstruction error",
            s,
            p.calibration.tail(e),
            &mut v,
        );
        if s.is_some() {
            residuals = Some(p.pca.residuals(row));
        }
    }
    let hb = m.hbos.score(row);
    let hb_sev = m.hbos_calibration.severity_score(hb);
    add(
        HBOS,
        "feature histograms",
        hb_sev,
        m.hbos_calibration.tail(hb),
        &mut v,
    );
    if v.detections.len() == 1 {
        sev = sev.map(|s| s.min(SINGLE_DETECTOR_CAP));
        v.reasons
            .push("only one of the detectors finds it unusual: kept low".to_owned());
    }
    if familiar && sev.is_some() {
        sev = sev.map(|s| s.min(SINGLE_DETECTOR_CAP));
        v.reasons.push(
            "a source that sent as much in a training minute, to known targets: kept low"
                .to_owned(),
        );
    }
    v.severity = sev;
    if sev.is_some() {
        // Name the features furthest outside their training range (or, for PCA,
        // furthest from the learned proportions).
        let weight: Vec<f32> = residuals.unwrap_or_else(|| m.hbos.contributions(row));
        let mut order: Vec<usize> = (0..row.len().min(weight.len())).collect();
        order.sort_by(|&a, &b| weight[b].total_cmp(&weight[a]));
        for j in order.into_iter().take(3) {
            let (lo, hi) = m.feature_bounds.get(j).copied().unwrap_or((0.0, 0.0));
            let val = row[j];
            if val >= lo && val <= hi && weight[j] < 1.0 {
                continue;
            }
            if let Some(d) = names.get(j) {
                // Raw quantities, not the model's log or share transforms.
                v.reasons
                    .push(explain::window_feature_reason(d, val, lo, hi));
            }
        }
    }
    v
}

/// Everything a window finding is built from.
#[derive(Debug, Clone)]
pub struct WindowCase<'a> {
    /// `vpcflow` or `access_log`.
    pub source: &'static str,
    /// What the window is about (`src:203.0.113.9@1709547300`): with the first
    /// event id, it makes the finding id.
    pub key: String,
    /// CloudWatch Logs id of the window's first event.
    pub first_event_id: &'a str,
    /// Earliest event time.
    pub time: i64,
    /// Account.
    pub account: &'a str,
    /// Region.
    pub region: &'a str,
    /// Source address (or "N sources").
    pub principal: String,
    /// What happened.
    pub action: String,
    /// Rules that fired.
    pub rules: Vec<RuleHit>,
    /// Evidence sentences (counts, window, top targets).
    pub evidence: Vec<String>,
}

/// Builds the finding of a window: rules and model combined as for CloudTrail.
pub fn window_finding(
    case: WindowCase<'_>,
    verdict: Option<&ModelVerdict>,
    model: Option<&Model>,
) -> Finding {
    let mut detections = Vec::new();
    let mut reasons = Vec::new();
    let mut rule_sev: Option<f64> = None;
    let mut rules = case.rules;
    rules.sort_by(|a, b| b.severity.total_cmp(&a.severity));
    for r in &rules {
        rule_sev = Some(rule_sev.map_or(r.severity, |s| s.max(r.severity)));
        if !detections.iter().any(|d: &Detection| d.id == r.id) {
            detections.push(Detection {
                id: r.id.to_owned(),
                technique: Some(r.technique.to_owned()),
            });
        }
        reasons.push(format!("{} ({})", r.reason, r.technique));
    }
    let model_sev = verdict.and_then(|v| v.severity);
    if let Some(v) = verdict.filter(|v| v.severity.is_some()) {
        detections.extend(v.detections.iter().cloned());
        reasons.extend(v.reasons.iter().cloned());
    }
    let severity_score = combine(rule_sev, model_sev);
    let severity = severity_score.and_then(Severity::from_score);
    if severity.is_some() {
        reasons.extend(case.evidence);
    }
    let score = match verdict {
        Some(v) => v.score,
        None => rule_sev.map_or(0.0, |s| s / 10.0),
    };
    Finding {
        finding_id: finding_id(
            case.source,
            &format!("{}/{}", case.key, case.first_event_id),
        ),
        event_id: case.first_event_id.to_owned(),
        source: case.source.to_owned(),
        time: timefmt::format_rfc3339(case.time),
        account: case.account.to_owned(),
        region: case.region.to_owned(),
        principal: case.principal,
        action: case.action,
        score: (score * 1e6).round() / 1e6,
        severity,
        severity_score: severity_score.unwrap_or(0.0),
        detections,
        reasons,
        model_version: model.map_or("none", |m| m.version()).to_owned(),
        triage: Default::default(),
    }
}

/// `10:15:00–10:16:00Z` style bounds of a window, for evidence.
pub fn window_text(start: i64, secs: i64) -> String {
    format!(
        "{} to {}",
        timefmt::format_rfc3339(start),
        timefmt::format_rfc3339(start + secs)
    )
}

/// The findings of one source window: the main one (rules and model) and, when
/// rules fired, one for the window's other events (model only), so that a
/// brute force does not pull the same address's ordinary requests along.
#[derive(Debug, Clone, Copy)]
pub struct WindowSlots {
    /// Index of the main finding.
    pub main: u32,
    /// Index of the finding of events no rule is about.
    pub rest: Option<u32>,
}

impl Scored {
    /// Adds the findings of a source window (see [`WindowSlots`]).
    pub fn push_window(
        &mut self,
        case: WindowCase<'_>,
        rest_action: String,
        verdict: Option<&ModelVerdict>,
        model: Option<&Model>,
    ) -> WindowSlots {
        let rest_case = (!case.rules.is_empty()).then(|| WindowCase {
            key: format!("{}/rest", case.key),
            action: rest_action,
            rules: Vec::new(),
            ..case.clone()
        });
        let main = self.push(window_finding(case, verdict, model));
        let rest = rest_case.map(|c| self.push(window_finding(c, verdict, model)));
        WindowSlots { main, rest }
    }

    fn push(&mut self, f: Finding) -> u32 {
        self.findings.push(f);
        u32::try_from(self.findings.len() - 1).unwrap_or(u32::MAX)
    }
}

/// The scored windows of a batch and, for every log event, the strongest finding
/// it is part of.
#[derive(Debug, Default)]
pub struct Scored {
    /// One finding per source window (with `severity: None` when nothing fired),
    /// then one per target window where a rule fired.
    pub findings: Vec<Finding>,
    /// For each log event, the index in `findings` of its strongest finding.
    pub event_finding: Vec<u32>,
}

impl Scored {
    /// Findings that reached a severity.
    pub fn flagged(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity.is_some())
    }

    /// Makes `candidate` the finding of `event` when it is stronger.
    pub fn claim(&mut self, event: usize, candidate: u32) {
        let Some(slot) = self.event_finding.get_mut(event) else {
            return;
        };
        let stronger = match (
            self.findings.get(*slot as usize),
            self.findings.get(candidate as usize),
        ) {
            (Some(cur), Some(new)) => {
                (new.severity_score, new.score) > (cur.severity_score, cur.score)
            }
            (None, Some(_)) => true,
            _ => false,
        };
        if stronger {
            *slot = candidate;
        }
    }

    /// Calls `each` with every log event's CloudWatch Logs id and its finding.
    pub fn for_each_event(&self, ids: &EventIds, mut each: impl FnMut(&str, &Finding)) {
        for (i, &f) in self.event_finding.iter().enumerate() {
            if let Some(f) = self.findings.get(f as usize) {
                each(ids.get(u32::try_from(i).unwrap_or(u32::MAX)), f);
            }
        }
    }

    /// One finding per log event (its strongest, with the event's own id), in order:
    /// what `scan --all` prints.
    pub fn per_event(&self, ids: &EventIds) -> Vec<Finding> {
        let mut out = Vec::with_capacity(self.event_finding.len());
        self.for_each_event(ids, |id, f| {
            let mut f = f.clone();
            f.event_id = id.to_owned();
            out.push(f);
        });
        out
    }
}
