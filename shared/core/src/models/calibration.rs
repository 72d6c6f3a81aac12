//! Severity calibration: where a score falls in the distribution of training
//! scores. The seeds used z-scores (over 3σ high), which assumes a bell curve that
//! Isolation Forest scores do not follow and flags a fixed share of normal events
//! every day. We use the empirical tail instead: the share of training events that
//! scored at least as high, exact in the top 1%, so a threshold means a known
//! false-alarm rate on data like the training data.

use serde::{Deserialize, Serialize};

/// Tail share at or below which a model score alone is `low`.
pub const LOW_TAIL: f64 = 5e-3;
/// Tail share at or below which a model score alone is `medium`.
pub const MEDIUM_TAIL: f64 = 3e-4;

/// The training score distribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    /// Number of training scores.
    pub n: u64,
    /// Scores at the 0%, 1%, …, 100% quantiles.
    pub percentiles: Vec<f64>,
    /// The highest scores, descending (the top 1%, at most 20,000).
    pub top: Vec<f64>,
}

impl Calibration {
    /// Builds the calibration from training scores.
    pub fn from_scores(scores: &[f64]) -> Self {
        let mut s: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let percentiles = if n == 0 {
            Vec::new()
        } else {
            (0..=100).map(|q| s[(q * (n - 1)) / 100]).collect()
        };
        let k = (n / 100).clamp(n.min(100), 20_000);
        let top = s.iter().rev().take(k).copied().collect();
        Self {
            n: n as u64,
            percentiles,
            top,
        }
    }

    /// Share of training scores at or above `score` (0 beyond the maximum).
    pub fn tail(&self, score: f64) -> f64 {
        if self.n == 0 {
            return 1.0;
        }
        let n = self.n as f64;
        if let Some(&lowest_top) = self.top.last() {
            if score >= lowest_top {
                let above = self.top.partition_point(|&t| t >= score);
                return above as f64 / n;
            }
        }
        // Below the exact top: interpolate on the percentile grid.
        let idx = self.percentiles.partition_point(|&p| p < score);
        1.0 - (idx.saturating_sub(1) as f64) / 100.0
    }

    /// The highest training score.
    pub fn max(&self) -> f64 {
        self.top.first().copied().unwrap_or(0.5)
    }

    /// The score at tail share `p` (the threshold that `p` of training exceeds).
    pub fn threshold(&self, p: f64) -> f64 {
        let k = (p * self.n as f64).floor() as usize;
        self.top.get(k).copied().unwrap_or_else(|| self.max())
    }

    /// Severity score (1.0–10.0) the model alone gives `score`, or `None` when the
    /// score is not unusual. Medium needs a tail share of at most [`MEDIUM_TAIL`];
    /// beyond everything seen in training the score climbs towards high as the gap
    /// grows, measured in units of the spread of the top tail.
    pub fn severity_score(&self, score: f64) -> Option<f64> {
        let p = self.tail(score);
        if p > LOW_TAIL {
            return None;
        }
        if p > MEDIUM_TAIL {
            // low band, log-linear in p: 1.0 at LOW_TAIL … 3.9 at MEDIUM_TAIL
            let t = (LOW_TAIL.ln() - p.ln()) / (LOW_TAIL.ln() - MEDIUM_TAIL.ln());
            return Some(1.0 + 2.9 * t);
        }
        if p > 0.0 {
            let floor = 1.0 / self.n as f64;
            let t = ((MEDIUM_TAIL.ln() - p.ln()) / (MEDIUM_TAIL.ln() - floor.ln()).max(1e-9))
                .clamp(0.0, 1.0);
            return Some(4.0 + 1.5 * t);
        }
        let spread = (self.max() - self.threshold(MEDIUM_TAIL)).max(1e-3);
        let gap = (score - self.max()) / spread;
        Some((5.5 + 2.5 * gap).min(8.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(n: usize) -> Calibration {
        let scores: Vec<f64> = (0..n).map(|i| 0.3 + 0.3 * i as f64 / n as f64).collect();
        Calibration::from_scores(&scores)
    }

    #[test]
    fn tail_is_the_share_at_or_above() {
        let c = uniform(100_000);
        assert!((c.tail(0.3) - 1.0).abs() < 0.02);
        assert!((c.tail(0.45) - 0.5).abs() < 0.02);
        assert!((c.tail(0.597) - 0.01).abs() < 0.001);
        assert_eq!(c.tail(0.7), 0.0);
    }

    #[test]
    fn normal_scores_get_no_severity_and_outliers_climb() {
        let c = uniform(100_000);
        assert_eq!(c.severity_score(0.45), None);
        assert_eq!(c.severity_score(0.59), None);
        let low = c.severity_score(0.5995).unwrap();
        assert!((1.0..4.0).contains(&low), "{low}");
        let medium = c.severity_score(0.59995).unwrap();
        assert!((4.0..7.0).contains(&medium), "{medium}");
        let far = c.severity_score(0.9).unwrap();
        assert!((7.0..=8.0).contains(&far), "{far}");
    }

    #[test]
    fn at_most_the_medium_tail_of_training_reaches_medium() {
        let c = uniform(50_000);
        let scores: Vec<f64> = (0..50_000)
            .map(|i| 0.3 + 0.3 * i as f64 / 50_000.0)
            .collect();
        let medium = scores
            .iter()
            .filter(|&&s| c.severity_score(s).is_some_and(|v| v >= 4.0))
            .count();
        assert!(medium as f64 <= MEDIUM_TAIL * 50_000.0 + 1.0, "{medium}");
    }
}
