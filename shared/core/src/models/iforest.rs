//! Isolation Forest (Liu, Ting and Zhou, 2008), written for trailhound.
//!
//! An anomaly is easy to isolate: random axis-aligned splits separate it from the rest in
//! few steps. Each tree is grown on a small subsample; a row's score is
//! `2^(-E[h(x)] / c(ψ))`, where `h` is the path length to the row's leaf (plus `c` of the
//! leaf's size) and `c(ψ)` the average path length of a tree grown on `ψ` rows. Scores lie
//! in (0, 1) and higher means more anomalous; they equal the negated `score_samples` of
//! scikit-learn, and a forest exported from scikit-learn scores identically here.
//!
//! Trees are stored complete (see `layout`), so scoring is branch-free and walks 16 rows
//! through one tree at a time while the tree sits in L1.

mod build;
mod layout;
mod sklearn;

use ndarray::{ArrayView2, Axis, Slice};
use serde::{Deserialize, Serialize};

use layout::{Packed, Split};

/// Training parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IsolationForestParams {
    /// Number of trees (default 100).
    pub n_trees: usize,
    /// Rows drawn, without replacement, to grow each tree (default 256, at most 4096);
    /// fewer when the input is smaller.
    pub max_samples: usize,
    /// Seed of the ChaCha8 generator: the same seed and input give the same forest.
    pub seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_samples: 256,
            seed: 0,
        }
    }
}

/// Why a forest could not be trained, imported or deserialised.
#[derive(Debug, thiserror::Error)]
pub enum IForestError {
    /// The training matrix has no rows or no columns.
    #[error("cannot fit on an empty matrix ({rows} rows, {columns} columns)")]
    EmptyInput {
        /// Rows given.
        rows: usize,
        /// Columns given.
        columns: usize,
    },
    /// A training value is NaN or infinite.
    #[error("non-finite training value at row {row}, column {column}")]
    NonFinite {
        /// Row of the first such value.
        row: usize,
        /// Its column.
        column: usize,
    },
    /// A parameter is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParams {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The scikit-learn export is not valid JSON of the expected shape.
    #[error("malformed scikit-learn export")]
    SklearnJson(#[source] serde_json::Error),
    /// The export's `format` is not `iforest-v1`.
    #[error("unsupported export format {0:?}, expected \"iforest-v1\"")]
    UnsupportedFormat(String),
    /// A tree's nodes are inconsistent.
    #[error("tree {tree}: {reason}")]
    InvalidTree {
        /// Index of the tree.
        tree: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A tree is deeper than the flat layout stores.
    #[error("tree {tree} is deeper than the supported {max} levels")]
    TooDeep {
        /// Index of the tree.
        tree: usize,
        /// Deepest supported tree.
        max: u32,
    },
    /// A stored forest is inconsistent (corrupt or from an incompatible version).
    #[error("invalid forest: {0}")]
    InvalidForest(String),
}

/// A fitted Isolation Forest: every tree in flat, complete-tree arrays.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "StoredForest")]
pub struct IsolationForest {
    n_features: u32,
    /// Rows each tree was grown on (ψ).
    max_samples: u32,
    /// c(ψ), the normaliser of the mean path length.
    c_max_samples: f64,
    /// Depth every tree is stored at; tree `t` owns slots `t * 2^depth..(t + 1) * 2^depth`.
    depth: u32,
    splits: Vec<Split>,
    /// Path length of each leaf slot: depth + c(rows in the leaf).
    leaves: Vec<f64>,
}

/// Rows walked through a tree together: enough independent work to hide load latency.
const LANES: usize = 16;
/// Lane groups scored per pass over the forest: with one tree they stay in L1.
const GROUPS: usize = 8;
/// Rows scored per pass over the forest.
const BLOCK: usize = GROUPS * LANES;
/// Widest row the batch kernel takes: its feature index is then one byte, loaded
/// straight from the split and in range by construction. Wider rows are scored one by one.
const FAST_FEATURES: usize = 256;
/// Stride of a row in a lane group: 17 cache lines rather than 16, so the rows of a
/// block spread over the L1 sets instead of piling onto a few.
const ROW_STRIDE: usize = FAST_FEATURES + 16;
/// `LANES` rows, row-major, each padded to `ROW_STRIDE`.
type Group = [[f32; ROW_STRIDE]; LANES];

impl IsolationForest {
    /// Trains a forest on the rows of `x` (all values finite).
    pub fn fit(
        x: ArrayView2<'_, f32>,
        params: &IsolationForestParams,
    ) -> Result<Self, IForestError> {
        let trained = build::train(x, params)?;
        let c = average_path_length(trained.subsample);
        Self::from_parts(x.ncols(), trained.subsample, c, trained.packed)
    }

    /// Loads a scikit-learn forest exported by the reference pipeline's `--export-json`.
    pub fn from_sklearn_json(json: &str) -> Result<Self, IForestError> {
        let s = sklearn::import(json)?;
        Self::from_parts(s.n_features, s.max_samples, s.c_max_samples, s.packed)
    }

    fn from_parts(
        n_features: usize,
        max_samples: usize,
        c_max_samples: f64,
        p: Packed,
    ) -> Result<Self, IForestError> {
        let too_big = |what| IForestError::InvalidForest(format!("{what} does not fit in u32"));
        StoredForest {
            n_features: u32::try_from(n_features).map_err(|_| too_big("n_features"))?,
            max_samples: u32::try_from(max_samples).map_err(|_| too_big("max_samples"))?,
            c_max_samples,
            depth: p.depth,
            splits: p.splits,
            leaves: p.leaves,
        }
        .try_into()
    }

    /// Number of features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features as usize
    }

    /// Rows each tree was grown on (ψ, the subsample size).
    pub fn max_samples(&self) -> usize {
        self.max_samples as usize
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.splits.len() >> self.depth
    }

    /// Anomaly scores of the rows of `x`, in (0, 1]; higher is more anomalous. Equal to
    /// the negated `score_samples` of scikit-learn.
    ///
    /// # Panics
    /// If `x` does not have `n_features()` columns.
    pub fn score(&self, x: ArrayView2<'_, f32>) -> Vec<f64> {
        let mut out = vec![0.0; x.nrows()];
        self.score_into(x, &mut out);
        out
    }

    /// [`score`](Self::score) into a caller's buffer, one score per row of `x`.
    ///
    /// # Panics
    /// If `x` does not have `n_features()` columns or `out.len() != x.nrows()`.
    pub fn score_into(&self, x: ArrayView2<'_, f32>, out: &mut [f64]) {
        let nf = self.n_features();
        assert_eq!(x.ncols(), nf, "row width must equal n_features");
        assert_eq!(out.len(), x.nrows(), "one output per row");
        if nf > FAST_FEATURES {
            for (o, row) in out.iter_mut().zip(x.rows()) {
                *o = match row.as_slice() {
                    Some(r) => self.score_row(r),
                    None => self.score_row(&row.to_vec()),
                };
            }
            return;
        }
        // 139 KiB at most: a small batch gets only the groups it fills
        let mut groups = vec![[[0.0f32; ROW_STRIDE]; LANES]; x.nrows().div_ceil(LANES).min(GROUPS)];
        let mut acc = [[0.0f64; LANES]; GROUPS];
        for (b, out_block) in out.chunks_mut(BLOCK).enumerate() {
            let n = out_block.len();
            let groups = &mut groups[..n.div_ceil(LANES)];
            let lanes = groups.iter_mut().flat_map(|g| g.iter_mut());
            // a last partial group keeps stale rows, whose sums are never read
            let rows = x.slice_axis(Axis(0), Slice::from(b * BLOCK..b * BLOCK + n));
            for (lane, row) in lanes.zip(rows.rows()) {
                for (dst, &v) in lane.iter_mut().zip(row.iter()) {
                    *dst = v;
                }
            }
            let acc = &mut acc[..groups.len()];
            acc.fill([0.0; LANES]);
            // one kernel per stored depth, so tree sizes are constants
            match self.depth {
                8 => self.accumulate::<256>(groups, acc),
                9 => self.accumulate::<512>(groups, acc),
                10 => self.accumulate::<1024>(groups, acc),
                11 => self.accumulate::<2048>(groups, acc),
                _ => self.accumulate::<4096>(groups, acc),
            }
            for (o, &sum) in out_block.iter_mut().zip(acc.as_flattened()) {
                *o = self.normalise(sum);
            }
        }
    }

    /// Anomaly score of one row (same value as [`score`](Self::score) gives it).
    ///
    /// # Panics
    /// If `row.len() != n_features()`.
    pub fn score_row(&self, row: &[f32]) -> f64 {
        assert_eq!(
            row.len(),
            self.n_features(),
            "row width must equal n_features"
        );
        let width = 1usize << self.depth;
        let mut sum = 0.0;
        for (tree, leaves) in self
            .splits
            .chunks_exact(width)
            .zip(self.leaves.chunks_exact(width))
        {
            let mut slot = 1;
            for _ in 0..self.depth {
                let s = tree[slot];
                slot = 2 * slot + goes_right(row[s.feature as usize], s.threshold);
            }
            sum += leaves[slot - width];
        }
        self.normalise(sum)
    }

    /// Which features isolated `row` early: in each tree, the split that ended the row's
    /// path (the one that cut it off from the rest) credits its feature with
    /// `1 / (depth + 1)`, the root split counting 1. Crediting every split on the path
    /// instead would come out near uniform, as features are picked uniformly at random.
    /// Normalised to sum to 1; all zeros if no tree split at all.
    ///
    /// # Panics
    /// If `row.len() != n_features()`.
    pub fn feature_attribution(&self, row: &[f32]) -> Vec<f64> {
        assert_eq!(
            row.len(),
            self.n_features(),
            "row width must equal n_features"
        );
        let mut weight = vec![0.0; self.n_features()];
        for tree in self.splits.chunks_exact(1 << self.depth) {
            let (mut slot, mut last) = (1, None);
            for level in 0..self.depth {
                let s = tree[slot];
                if s.threshold == f32::INFINITY {
                    break; // padding: the path already ended in a leaf
                }
                last = Some((s.feature, level));
                slot = 2 * slot + goes_right(row[s.feature as usize], s.threshold);
            }
            if let Some((feature, level)) = last {
                weight[feature as usize] += 1.0 / f64::from(level + 1);
            }
        }
        let total: f64 = weight.iter().sum();
        if total > 0.0 {
            weight.iter_mut().for_each(|w| *w /= total);
        }
        weight
    }

    /// Adds every row's path length in each tree to `acc`, tree by tree (the order
    /// scikit-learn sums in, so totals match bit for bit). `N = 2^depth`.
    fn accumulate<const N: usize>(&self, groups: &[Group], acc: &mut [[f64; LANES]]) {
        for (tree, leaves) in self.splits.chunks_exact(N).zip(self.leaves.chunks_exact(N)) {
            let (Ok(tree), Ok(leaves)) =
                (<&[Split; N]>::try_from(tree), <&[f64; N]>::try_from(leaves))
            else {
                continue; // unreachable: chunks are exactly N long
            };
            for (group, a) in groups.iter().zip(acc.iter_mut()) {
                walk(tree, leaves, group, a);
            }
        }
    }

    fn normalise(&self, path_sum: f64) -> f64 {
        let denominator = self.n_trees() as f64 * self.c_max_samples;
        // scikit-learn's convention for a forest of one-row trees (all depths 0)
        let ratio = if denominator == 0.0 {
            1.0
        } else {
            path_sum / denominator
        };
        2f64.powf(-ratio)
    }
}

/// Walks one lane group through one tree stored at depth `log2(N)` and adds each row's
/// leaf value to `acc`. The rows are independent, so their loads overlap. `% N` and
/// `% FAST_FEATURES` are masks (a byte load for the feature) that prove every index in
/// range; they never change a valid index (features are checked below `n_features`).
#[inline(always)]
fn walk<const N: usize>(
    tree: &[Split; N],
    leaves: &[f64; N],
    group: &Group,
    acc: &mut [f64; LANES],
) {
    let mut slot = [1usize; LANES];
    let mut width = 1;
    while width < N {
        slot = std::array::from_fn(|r| {
            let split = tree[slot[r] % N];
            let v = group[r][split.feature as usize % FAST_FEATURES];
            2 * slot[r] + goes_right(v, split.threshold)
        });
        width *= 2;
    }
    // after log2(N) steps every slot is in N..2N
    for (a, s) in acc.iter_mut().zip(slot) {
        *a += leaves[s % N];
    }
}

/// 1 if a row with value `v` goes right at a split on threshold `t`, else 0. Written
/// `!(v <= t)` rather than `v > t` so a NaN goes right, as in scikit-learn.
#[inline(always)]
#[expect(clippy::neg_cmp_op_on_partial_ord, reason = "NaN must go right")]
fn goes_right(v: f32, t: f32) -> usize {
    usize::from(!(v <= t))
}

/// c(n): average path length of an unsuccessful search in a binary search tree of `n`
/// keys, the expected depth of a row in a tree grown on `n` rows.
pub(crate) fn average_path_length(n: usize) -> f64 {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// The serialised form, checked before it becomes an [`IsolationForest`] so a corrupt
/// artifact fails to load instead of panicking while scoring.
#[derive(Deserialize)]
struct StoredForest {
    n_features: u32,
    max_samples: u32,
    c_max_samples: f64,
    depth: u32,
    splits: Vec<Split>,
    leaves: Vec<f64>,
}

impl TryFrom<StoredForest> for IsolationForest {
    type Error = IForestError;

    fn try_from(s: StoredForest) -> Result<Self, Self::Error> {
        let bad = |m: String| Err(IForestError::InvalidForest(m));
        if s.n_features == 0 {
            return bad("no features".into());
        }
        if !s.c_max_samples.is_finite() || s.c_max_samples < 0.0 {
            return bad(format!("c_max_samples is {}", s.c_max_samples));
        }
        if !(layout::MIN_DEPTH..=layout::MAX_DEPTH).contains(&s.depth) {
            return bad(format!("depth {} out of range", s.depth));
        }
        let width = 1usize << s.depth;
        if s.splits.is_empty() || s.splits.len() % width != 0 || s.leaves.len() != s.splits.len() {
            return bad("node arrays do not hold whole trees".into());
        }
        if s.splits.iter().any(|sp| sp.feature >= s.n_features) {
            return bad("a split names a feature out of range".into());
        }
        Ok(Self {
            n_features: s.n_features,
            max_samples: s.max_samples,
            c_max_samples: s.c_max_samples,
            depth: s.depth,
            splits: s.splits,
            leaves: s.leaves,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// `n` inliers around the origin in `nf` dimensions, from a fixed LCG.
    fn cloud(n: usize, nf: usize, seed: u64) -> Array2<f32> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        Array2::from_shape_fn((n, nf), |_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
    }

    fn params(seed: u64) -> IsolationForestParams {
        IsolationForestParams {
            seed,
            ..IsolationForestParams::default()
        }
    }

    #[test]
    fn same_seed_gives_same_forest_and_scores() {
        let x = cloud(1000, 6, 1);
        let a = IsolationForest::fit(x.view(), &params(7)).unwrap();
        let b = IsolationForest::fit(x.view(), &params(7)).unwrap();
        let c = IsolationForest::fit(x.view(), &params(8)).unwrap();
        assert_eq!(a.splits, b.splits);
        assert_eq!(a.leaves, b.leaves);
        assert_eq!(a.score(x.view()), b.score(x.view()));
        assert_ne!(a.score(x.view()), c.score(x.view()));
    }

    #[test]
    fn obvious_outlier_scores_above_every_inlier() {
        let mut x = cloud(2000, 5, 2);
        x.row_mut(17).fill(8.0);
        let f = IsolationForest::fit(x.view(), &params(1)).unwrap();
        let s = f.score(x.view());
        let max_inlier = s
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 17)
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        assert!(
            s[17] > max_inlier,
            "outlier {} vs inlier max {max_inlier}",
            s[17]
        );
        assert!(s[17] > 0.6, "outlier score {}", s[17]);
    }

    #[test]
    fn scores_lie_strictly_between_zero_and_one() {
        let x = cloud(500, 3, 3);
        let f = IsolationForest::fit(x.view(), &params(2)).unwrap();
        let probe = cloud(333, 3, 4) * 10.0;
        for s in f.score(probe.view()) {
            assert!(s > 0.0 && s < 1.0, "{s}");
        }
    }

    #[test]
    fn batch_row_and_strided_scoring_agree() {
        let x = cloud(300, 4, 5);
        let f = IsolationForest::fit(x.view(), &params(3)).unwrap();
        let probe = cloud(203, 4, 6); // not a multiple of the block or lane size
        let batch = f.score(probe.view());
        let strided = f.score(probe.t().as_standard_layout().t());
        let rows: Vec<f64> = probe
            .rows()
            .into_iter()
            .map(|r| f.score_row(r.as_slice().unwrap()))
            .collect();
        assert_eq!(batch, rows);
        assert_eq!(batch, strided);
    }

    #[test]
    fn rows_wider_than_the_batch_kernel_score_one_by_one() {
        let x = cloud(200, FAST_FEATURES + 3, 8);
        let f = IsolationForest::fit(x.view(), &params(6)).unwrap();
        let rows: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| f.score_row(r.as_slice().unwrap()))
            .collect();
        assert_eq!(f.score(x.view()), rows);
    }

    #[test]
    fn deeper_forests_use_their_own_kernel() {
        let x = cloud(3000, 4, 12);
        let p = IsolationForestParams {
            max_samples: 1000,
            ..params(9)
        };
        let f = IsolationForest::fit(x.view(), &p).unwrap();
        assert_eq!(f.depth, 10);
        let rows: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| f.score_row(r.as_slice().unwrap()))
            .collect();
        assert_eq!(f.score(x.view()), rows);
    }

    #[test]
    fn rejects_empty_and_non_finite_input() {
        let p = IsolationForestParams::default();
        let empty = Array2::<f32>::zeros((0, 4));
        assert!(matches!(
            IsolationForest::fit(empty.view(), &p),
            Err(IForestError::EmptyInput { .. })
        ));
        let no_cols = Array2::<f32>::zeros((10, 0));
        assert!(matches!(
            IsolationForest::fit(no_cols.view(), &p),
            Err(IForestError::EmptyInput { .. })
        ));
        let mut x = cloud(10, 2, 1);
        x[[4, 1]] = f32::NAN;
        assert!(matches!(
            IsolationForest::fit(x.view(), &p),
            Err(IForestError::NonFinite { row: 4, column: 1 })
        ));
        let zero_trees = IsolationForestParams { n_trees: 0, ..p };
        assert!(IsolationForest::fit(cloud(10, 2, 1).view(), &zero_trees).is_err());
    }

    #[test]
    fn constant_input_gives_single_leaf_trees_scoring_one_half() {
        let x = Array2::<f32>::ones((50, 3));
        let f = IsolationForest::fit(x.view(), &params(0)).unwrap();
        assert!(f.splits.iter().all(|s| *s == layout::PAD));
        // every row ends in the root with c(50) = c(ψ): score 2^-1
        assert!((f.score_row(&[1.0, 1.0, 1.0]) - 0.5).abs() < 1e-15);
        assert_eq!(f.feature_attribution(&[1.0, 1.0, 1.0]), vec![0.0; 3]);
    }

    #[test]
    fn postcard_round_trip_scores_identically() {
        let x = cloud(800, 5, 9);
        let f = IsolationForest::fit(x.view(), &params(4)).unwrap();
        let bytes = postcard::to_allocvec(&f).unwrap();
        let g: IsolationForest = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(f.score(x.view()), g.score(x.view()));
        assert_eq!(
            (g.n_features(), g.n_trees(), g.max_samples()),
            (5, 100, 256)
        );
    }

    #[test]
    fn corrupt_artifact_fails_to_load() {
        let x = cloud(100, 2, 1);
        let mut f = IsolationForest::fit(x.view(), &params(1)).unwrap();
        f.splits[0].feature = 9;
        let bytes = postcard::to_allocvec(&f).unwrap();
        assert!(postcard::from_bytes::<IsolationForest>(&bytes).is_err());
    }

    #[test]
    fn attribution_points_at_the_feature_that_isolates() {
        let mut x = cloud(1000, 4, 11);
        x[[3, 2]] = 6.0; // far out on feature 2 only
        let f = IsolationForest::fit(x.view(), &params(5)).unwrap();
        let w = f.feature_attribution(x.row(3).as_slice().unwrap());
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let top = (0..4).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
        assert_eq!(top, 2, "{w:?}");
    }

    #[test]
    fn average_path_length_matches_known_values() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // scikit-learn's _average_path_length([256])
        assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
    }
}
