//! PCA reconstruction error: the second unsupervised detector of the network and web
//! sources (the seeds' PCA detector, fitted with smartcore).
//!
//! Normal traffic windows are strongly correlated: more requests mean more distinct
//! paths and more bytes, in the proportions the site's pages have. PCA finds the few
//! directions that carry those proportions; a window that breaks them (many requests
//! to one path, many ports with no bytes, bytes out with no requests) lies off that
//! subspace, and the squared distance to it is the score. The forest isolates rare
//! values; PCA catches rare *combinations* of ordinary values.
//!
//! Features are log-compressed (`sign(v)·ln(1+|v|)`) and z-scored before the fit, so
//! one heavy-tailed count does not own the first component. smartcore is used only to
//! fit: the model keeps its own plain struct (means, scales, components), so scoring
//! is a few dot products and the artifact holds no smartcore types.

use serde::{Deserialize, Serialize};
use smartcore::decomposition::pca::{PCA, PCAParameters};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;

/// Share of the (standardised) variance the kept components must explain.
pub const VARIANCE_KEPT: f64 = 0.95;
/// Rows used for the fit at most (an even stride over the rows given).
pub const FIT_ROWS: usize = 20_000;
/// Smallest scale of a column: a column constant in training keeps scale 1, so a
/// change of one log unit off the constant costs 1 (the fit sees no variance there).
const MIN_SCALE: f64 = 1e-6;

/// Why a PCA could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum PcaError {
    /// Fewer rows than needed to estimate a covariance.
    #[error("PCA needs at least {needed} rows, got {got}")]
    TooFewRows {
        /// Rows needed.
        needed: usize,
        /// Rows given.
        got: usize,
    },
    /// One feature has no subspace to leave.
    #[error("PCA needs at least 2 features, got {0}")]
    TooFewFeatures(usize),
    /// smartcore refused the data.
    #[error("PCA fit failed: {0}")]
    Fit(String),
}

/// A fitted PCA: the standardisation and the kept principal directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Features per row.
    pub width: usize,
    /// Mean of each log-compressed feature.
    pub means: Vec<f32>,
    /// Standard deviation of each log-compressed feature (1 for constant columns).
    pub scales: Vec<f32>,
    /// Kept components, row-major (`k × width`), each of unit length, strongest first.
    pub components: Vec<f32>,
    /// Share of the standardised variance the kept components explain.
    pub explained: f32,
}

/// `sign(v)·ln(1+|v|)`: compresses counts and byte totals, keeps 0 at 0.
fn compress(v: f32) -> f64 {
    let v = f64::from(v);
    if v.is_nan() {
        return 0.0;
    }
    v.signum() * v.abs().ln_1p()
}

impl Pca {
    /// Fits on training rows (row-major, `width` columns), keeping the components
    /// that explain [`VARIANCE_KEPT`] of the variance (at least 1, at most `width - 1`).
    pub fn fit(rows: &[f32], width: usize) -> Result<Self, PcaError> {
        if width < 2 {
            return Err(PcaError::TooFewFeatures(width));
        }
        let n = rows.len() / width;
        let needed = width + 2;
        if n < needed {
            return Err(PcaError::TooFewRows { needed, got: n });
        }
        let stride = n.div_ceil(FIT_ROWS).max(1);
        let picked: Vec<&[f32]> = rows.chunks_exact(width).step_by(stride).collect();
        let m = picked.len();

        let mut means = vec![0f64; width];
        for r in &picked {
            for (s, &v) in means.iter_mut().zip(r.iter()) {
                *s += compress(v);
            }
        }
        for s in &mut means {
            *s /= m as f64;
        }
        let mut scales = vec![0f64; width];
        for r in &picked {
            for j in 0..width {
                let d = compress(r[j]) - means[j];
                scales[j] += d * d;
            }
        }
        for s in &mut scales {
            let sd = (*s / m as f64).sqrt();
            *s = if sd > MIN_SCALE { sd } else { 1.0 };
        }

        let mut z = Vec::with_capacity(m * width);
        for r in &picked {
            for j in 0..width {
                z.push((compress(r[j]) - means[j]) / scales[j]);
            }
        }
        let x = DenseMatrix::new(m, width, z.clone(), false)
            .map_err(|e| PcaError::Fit(e.to_string()))?;
        let params = PCAParameters::default().with_n_components(width);
        let fitted = PCA::fit(&x, params).map_err(|e| PcaError::Fit(e.to_string()))?;
        let basis = fitted.components(); // width × width, one direction per column

        // Explained variance measured directly: the variance of the data along each
        // direction (robust to how the solver orders or scales its output).
        let mut dirs: Vec<(f64, Vec<f64>)> = (0..width)
            .map(|c| {
                let mut v: Vec<f64> = (0..width).map(|i| *basis.get((i, c))).collect();
                let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|a| *a /= norm);
                }
                let var = z
                    .chunks_exact(width)
                    .map(|row| {
                        let p: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
                        p * p
                    })
                    .sum::<f64>()
                    / m as f64;
                (var, v)
            })
            .filter(|(var, _)| var.is_finite())
            .collect();
        dirs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total: f64 = dirs.iter().map(|d| d.0).sum::<f64>().max(f64::MIN_POSITIVE);
        let mut k = 0;
        let mut kept = 0.0;
        while k < dirs.len() && kept / total < VARIANCE_KEPT {
            kept += dirs[k].0;
            k += 1;
        }
        let k = k.clamp(1, width - 1).min(dirs.len());
        let kept: f64 = dirs[..k].iter().map(|d| d.0).sum();
        Ok(Self {
            width,
            means: means.iter().map(|&v| v as f32).collect(),
            scales: scales.iter().map(|&v| v as f32).collect(),
            components: dirs[..k]
                .iter()
                .flat_map(|(_, v)| v.iter().map(|&a| a as f32))
                .collect(),
            explained: (kept / total) as f32,
        })
    }

    /// Number of kept components.
    pub fn n_components(&self) -> usize {
        self.components.len().checked_div(self.width).unwrap_or(0)
    }

    fn standardise(&self, row: &[f32], z: &mut [f32]) {
        for (j, out) in z.iter_mut().enumerate() {
            let v = row.get(j).copied().unwrap_or(0.0);
            *out = ((compress(v) - f64::from(self.means[j])) / f64::from(self.scales[j])) as f32;
        }
    }

    /// Squared reconstruction error of a row: its squared distance from the kept
    /// subspace, in standardised units (0 on the subspace).
    pub fn score(&self, row: &[f32]) -> f64 {
        let mut buf = [0f32; 64];
        let mut heap;
        let z: &mut [f32] = if self.width <= buf.len() {
            &mut buf[..self.width]
        } else {
            heap = vec![0f32; self.width];
            &mut heap
        };
        self.standardise(row, z);
        let total: f64 = z.iter().map(|&a| f64::from(a) * f64::from(a)).sum();
        let projected: f64 = self
            .components
            .chunks_exact(self.width)
            .map(|c| {
                let p: f32 = c.iter().zip(z.iter()).map(|(a, b)| a * b).sum();
                f64::from(p) * f64::from(p)
            })
            .sum();
        (total - projected).max(0.0)
    }

    /// Per-feature squared residuals of a row (they sum to [`Pca::score`]), for
    /// explanations: which features left the learned proportions.
    pub fn residuals(&self, row: &[f32]) -> Vec<f32> {
        let mut z = vec![0f32; self.width];
        self.standardise(row, &mut z);
        let mut r = z.clone();
        for c in self.components.chunks_exact(self.width) {
            let p: f32 = c.iter().zip(&z).map(|(a, b)| a * b).sum();
            for (ri, ci) in r.iter_mut().zip(c) {
                *ri -= p * ci;
            }
        }
        r.iter().map(|v| v * v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows in 8 dimensions driven by 2 latent factors plus a little noise.
    fn planted(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = [1.0, 0.5, 0.0, 2.0, 1.0, 0.3, 0.0, 1.5];
        let b = [0.0, 1.0, 1.0, -0.5, 0.2, 1.0, 2.0, 0.0];
        let mut out = Vec::with_capacity(n * 8);
        for _ in 0..n {
            let u: f32 = rng.random_range(0.0..3.0);
            let v: f32 = rng.random_range(0.0..3.0);
            for j in 0..8 {
                let noise: f32 = rng.random_range(-0.01..0.01);
                out.push(a[j] * u + b[j] * v + noise);
            }
        }
        out
    }

    #[test]
    fn recovers_a_planted_low_rank_structure() {
        let rows = planted(3000, 7);
        let p = Pca::fit(&rows, 8).unwrap();
        // log compression bends the plane a little, so allow a third direction.
        assert!(
            (2..=3).contains(&p.n_components()),
            "kept {} components",
            p.n_components()
        );
        assert!(p.explained >= 0.95, "{}", p.explained);
        for c in p.components.chunks_exact(8) {
            let norm: f32 = c.iter().map(|a| a * a).sum();
            assert!((norm - 1.0).abs() < 1e-3, "component norm {norm}");
        }
    }

    #[test]
    fn an_off_subspace_point_scores_high() {
        let rows = planted(3000, 11);
        let p = Pca::fit(&rows, 8).unwrap();
        let train_max = rows.chunks_exact(8).map(|r| p.score(r)).fold(0.0, f64::max);
        // Same magnitudes as training, wrong proportions: column 2 high while
        // column 0 (tied to it through nothing) is zero and column 6 is zero.
        let off = [0.0, 1.0, 5.0, 0.0, 0.2, 1.0, 0.0, 0.0];
        let s = p.score(&off);
        assert!(s > 3.0 * train_max, "off {s} vs training max {train_max}");
        let on = &rows[8..16];
        assert!(p.score(on) <= train_max);
        let res = p.residuals(&off);
        let sum: f32 = res.iter().sum();
        assert!(
            (f64::from(sum) - s).abs() < 1e-2 * s.max(1.0),
            "{sum} vs {s}"
        );
    }

    #[test]
    fn round_trips_through_postcard() {
        let rows = planted(500, 3);
        let p = Pca::fit(&rows, 8).unwrap();
        let bytes = postcard::to_stdvec(&p).unwrap();
        let back: Pca = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.score(&rows[..8]), p.score(&rows[..8]));
    }

    #[test]
    fn refuses_too_little_data() {
        assert!(matches!(
            Pca::fit(&[1.0; 4], 1),
            Err(PcaError::TooFewFeatures(1))
        ));
        assert!(matches!(
            Pca::fit(&[1.0; 8], 4),
            Err(PcaError::TooFewRows { .. })
        ));
    }

    #[test]
    fn constant_columns_do_not_break_the_fit() {
        let rows: Vec<f32> = (0..200)
            .flat_map(|i| [1.0, (i % 7) as f32, (i % 7) as f32 * 2.0])
            .collect();
        let p = Pca::fit(&rows, 3).unwrap();
        assert!(p.score(&[1.0, 3.0, 6.0]) < 0.1);
        assert!(p.score(&[9.0, 3.0, 6.0]) > 1.0);
    }
}
