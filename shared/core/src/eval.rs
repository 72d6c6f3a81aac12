//! Detection quality on labelled data: confusion matrix, precision, recall, F1,
//! ROC-AUC, false alerts per 1,000 normal events, and recall per scenario.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

/// Ground truth of one event, from a labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    /// Attack event.
    pub attack: bool,
    /// Scenario name ("" for plain normal traffic).
    pub scenario: String,
}

/// Why a labels file was refused. Messages name the line, never its content
/// beyond the label value.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    /// A line without the label column.
    #[error("line {line}: expected event_id,label,scenario")]
    Shape {
        /// 1-based line number.
        line: usize,
    },
    /// A label other than 0 or 1.
    #[error("line {line}: label must be 0 or 1, not {found:?}")]
    Label {
        /// 1-based line number.
        line: usize,
        /// The label column, cut to 32 bytes.
        found: String,
    },
    /// The file could not be read (or is not UTF-8).
    #[error("cannot read labels")]
    Io(#[source] std::io::Error),
}

/// Parses `labels.csv` (`event_id,label,scenario`, as `trailhound simulate` writes
/// it): an optional `event_id` header, blank lines skipped, label `0` or `1`, the
/// scenario is the rest of the line. A repeated id keeps its last row.
pub fn parse_labels(reader: impl BufRead) -> Result<HashMap<String, Truth>, LabelsError> {
    let mut out = HashMap::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(LabelsError::Io)?;
        if n == 0 && line.starts_with("event_id") || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ',');
        let (Some(id), Some(label)) = (parts.next(), parts.next()) else {
            return Err(LabelsError::Shape { line: n + 1 });
        };
        let attack = match label.trim() {
            "1" => true,
            "0" => false,
            other => {
                let mut end = other.len().min(32);
                while !other.is_char_boundary(end) {
                    end -= 1;
                }
                return Err(LabelsError::Label {
                    line: n + 1,
                    found: other[..end].to_owned(),
                });
            }
        };
        let scenario = parts.next().unwrap_or("").trim().to_owned();
        out.insert(id.trim().to_owned(), Truth { attack, scenario });
    }
    Ok(out)
}

/// One scored, labelled event.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Ranking value (higher = more suspicious): severity score plus anomaly score.
    pub rank: f64,
    /// Whether it reached the alerting threshold.
    pub flagged: bool,
    /// Ground truth: an attack event.
    pub attack: bool,
    /// Scenario name ("" for plain normal traffic).
    pub scenario: String,
}

/// Per-scenario outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScenarioResult {
    /// Events of the scenario.
    pub events: u64,
    /// Of which flagged.
    pub flagged: u64,
    /// Whether it is an attack (false for hard negatives).
    pub attack: bool,
}

/// The metrics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    /// Attack events flagged.
    pub tp: u64,
    /// Normal events flagged.
    pub fp: u64,
    /// Attack events missed.
    pub fn_: u64,
    /// Normal events not flagged.
    pub tn: u64,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the ROC curve of the ranking value (ties count half).
    pub roc_auc: f64,
    /// Normal events flagged per 1,000 normal events.
    pub false_alerts_per_1000: f64,
    /// Outcome per scenario (attacks and hard negatives).
    pub scenarios: BTreeMap<String, ScenarioResult>,
}

impl Metrics {
    /// Computes the metrics.
    pub fn compute(items: &[Labelled]) -> Self {
        let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
        let mut scenarios: BTreeMap<String, ScenarioResult> = BTreeMap::new();
        for it in items {
            match (it.attack, it.flagged) {
                (true, true) => tp += 1,
                (true, false) => fn_ += 1,
                (false, true) => fp += 1,
                (false, false) => tn += 1,
            }
            if !it.scenario.is_empty() {
                let s = scenarios
                    .entry(it.scenario.clone())
                    .or_insert(ScenarioResult {
                        events: 0,
                        flagged: 0,
                        attack: it.attack,
                    });
                s.events += 1;
                s.flagged += u64::from(it.flagged);
            }
        }
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            tp,
            fp,
            fn_,
            tn,
            precision,
            recall,
            f1,
            roc_auc: roc_auc(items),
            false_alerts_per_1000: 1000.0 * ratio(fp, fp + tn),
            scenarios,
        }
    }
}

/// ROC-AUC by the rank-sum (Mann–Whitney) formula with average ranks for ties.
pub fn roc_auc(items: &[Labelled]) -> f64 {
    let pos = items.iter().filter(|i| i.attack).count();
    let neg = items.len() - pos;
    if pos == 0 || neg == 0 {
        return f64::NAN;
    }
    let mut order: Vec<(f64, bool)> = items.iter().map(|i| (i.rank, i.attack)).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && order[j + 1].0 == order[i].0 {
            j += 1;
        }
        // Ranks are 1-based; tied values share the mean of their ranks.
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * order[i..=j].iter().filter(|o| o.1).count() as f64;
        i = j + 1;
    }
    let p = pos as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * neg as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rank: f64, flagged: bool, attack: bool, scenario: &str) -> Labelled {
        Labelled {
            rank,
            flagged,
            attack,
            scenario: scenario.to_owned(),
        }
    }

    #[test]
    fn counts_the_confusion_matrix() {
        let items = [
            item(9.0, true, true, "a"),
            item(8.0, true, false, ""),
            item(1.0, false, true, "a"),
            item(0.5, false, false, ""),
            item(0.1, false, false, "benign-x"),
        ];
        let m = Metrics::compute(&items);
        assert_eq!((m.tp, m.fp, m.fn_, m.tn), (1, 1, 1, 2));
        assert!((m.precision - 0.5).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 0.5).abs() < 1e-12);
        assert!((m.false_alerts_per_1000 - 1000.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            m.scenarios["a"],
            ScenarioResult {
                events: 2,
                flagged: 1,
                attack: true
            }
        );
        assert!(!m.scenarios["benign-x"].attack);
    }

    #[test]
    fn parses_labels_with_header_blank_lines_and_commas_in_scenarios() {
        let text = "event_id,label,scenario\n e1 ,1, exfil,stage 2\n\ne2,0,\ne3,0\n";
        let labels = parse_labels(text.as_bytes()).unwrap();
        assert_eq!(labels.len(), 3);
        assert_eq!(
            labels["e1"],
            Truth {
                attack: true,
                scenario: "exfil,stage 2".into()
            }
        );
        assert!(!labels["e2"].attack && labels["e3"].scenario.is_empty());
        assert!(matches!(
            parse_labels("e1\n".as_bytes()),
            Err(LabelsError::Shape { line: 1 })
        ));
        assert!(matches!(
            parse_labels("e1,yes,x\n".as_bytes()),
            Err(LabelsError::Label { line: 1, .. })
        ));
    }

    #[test]
    fn auc_is_one_for_perfect_ranking_and_half_for_ties() {
        let perfect = [
            item(3.0, true, true, ""),
            item(2.0, false, false, ""),
            item(1.0, false, false, ""),
        ];
        assert!((roc_auc(&perfect) - 1.0).abs() < 1e-12);
        let tied = [item(1.0, true, true, ""), item(1.0, false, false, "")];
        assert!((roc_auc(&tied) - 0.5).abs() < 1e-12);
        let inverted = [item(0.0, true, true, ""), item(2.0, false, false, "")];
        assert!(roc_auc(&inverted).abs() < 1e-12);
    }
}
