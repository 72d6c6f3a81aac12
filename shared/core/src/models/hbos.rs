//! Histogram-based outlier score (HBOS, Goldstein and Dengel, 2012): for each
//! feature, how improbable the event's value was in training, summed over features.
//!
//! It complements the Isolation Forest where the forest is blind: a forest grown
//! on 256-row samples cannot split on a feature that never varies in its sample
//! (a workload role called from the internet, attack tooling in the user agent),
//! so values never seen in training are not isolated. HBOS scores each such value
//! as a rare bin and names the features that made the score, which also makes the
//! best explanation.

use serde::{Deserialize, Serialize};

/// Equal-width bins between each feature's training minimum and maximum.
pub const BINS: usize = 16;
/// Smoothing count added to every bin (and to "outside the training range").
const ALPHA: f64 = 0.5;

/// One feature's histogram.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histogram {
    /// Training minimum.
    pub min: f32,
    /// Training maximum.
    pub max: f32,
    /// `-log10` probability per bin; the last entry is for values outside [min, max].
    pub surprise: Vec<f32>,
}

impl Histogram {
    fn fit(col: &[f32]) -> Self {
        let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in col {
            min = min.min(v);
            max = max.max(v);
        }
        if !min.is_finite() {
            (min, max) = (0.0, 0.0);
        }
        let mut counts = [0u64; BINS];
        for &v in col {
            counts[bin(v, min, max)] += 1;
        }
        let total = col.len() as f64 + ALPHA * (BINS as f64 + 1.0);
        let mut surprise: Vec<f32> = counts
            .iter()
            .map(|&c| (-((c as f64 + ALPHA) / total).log10()) as f32)
            .collect();
        surprise.push((-(ALPHA / total).log10()) as f32);
        Self { min, max, surprise }
    }

    /// Surprise of a value (higher = rarer in training).
    pub fn surprise(&self, v: f32) -> f32 {
        let idx = if v < self.min || v > self.max || v.is_nan() {
            BINS
        } else {
            bin(v, self.min, self.max)
        };
        self.surprise.get(idx).copied().unwrap_or(0.0)
    }
}

fn bin(v: f32, min: f32, max: f32) -> usize {
    if max <= min {
        return 0;
    }
    let t = ((v - min) / (max - min) * BINS as f32).floor();
    // t is finite and non-negative here; the cast saturates, the min keeps max in the last bin.
    (t.max(0.0) as usize).min(BINS - 1)
}

/// Histograms of every feature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hbos {
    /// One per feature, in schema order.
    pub features: Vec<Histogram>,
    /// Surprise of the most common bin per feature: subtracted so that a perfectly
    /// ordinary event scores 0 and the score reads as "extra surprise".
    pub baseline: f32,
}

impl Hbos {
    /// Fits histograms to training rows (row-major, `width` columns).
    pub fn fit(rows: &[f32], width: usize) -> Self {
        let n = rows.len().checked_div(width).unwrap_or(0);
        let features: Vec<Histogram> = (0..width)
            .map(|j| {
                let col: Vec<f32> = (0..n).map(|i| rows[i * width + j]).collect();
                Histogram::fit(&col)
            })
            .collect();
        let baseline = features
            .iter()
            .map(|h| h.surprise.iter().copied().fold(f32::INFINITY, f32::min))
            .sum();
        Self { features, baseline }
    }

    /// Extra surprise of a row over an ordinary one (≥ 0).
    pub fn score(&self, row: &[f32]) -> f64 {
        let s: f32 = self
            .features
            .iter()
            .zip(row)
            .map(|(h, &v)| h.surprise(v))
            .sum();
        f64::from((s - self.baseline).max(0.0))
    }

    /// Per-feature surprise of a row, for explanations.
    pub fn contributions(&self, row: &[f32]) -> Vec<f32> {
        self.features
            .iter()
            .zip(row)
            .map(|(h, &v)| h.surprise(v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_never_seen_in_training_is_surprising() {
        // 1000 rows, 2 features: the first always 0, the second uniform over 0..10.
        let rows: Vec<f32> = (0..1000).flat_map(|i| [0.0, (i % 10) as f32]).collect();
        let h = Hbos::fit(&rows, 2);
        let ordinary = h.score(&[0.0, 3.0]);
        let unseen = h.score(&[1.0, 3.0]);
        assert!(ordinary < 1.5, "{ordinary}");
        assert!(unseen > ordinary + 2.0, "{unseen} vs {ordinary}");
        let c = h.contributions(&[1.0, 3.0]);
        assert!(c[0] > c[1]);
    }

    #[test]
    fn constant_features_do_not_break_binning() {
        let h = Histogram::fit(&[2.0; 10]);
        assert!(h.surprise(2.0) < h.surprise(3.0));
        assert_eq!(bin(5.0, 1.0, 1.0), 0);
    }
}
