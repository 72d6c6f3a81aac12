//! Growing isolation trees (Liu, Ting and Zhou, 2008), with scikit-learn's choices where
//! the paper leaves room: features constant in a node are skipped, and a node whose
//! features are all constant is a leaf.

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::layout::{MAX_DEPTH, Node, Packed, floor_f32};
use super::{IForestError, IsolationForestParams, average_path_length};

/// What training hands back to `IsolationForest::fit`.
pub(crate) struct Trained {
    pub(crate) packed: Packed,
    pub(crate) subsample: usize,
}

pub(crate) fn train(
    x: ArrayView2<'_, f32>,
    params: &IsolationForestParams,
) -> Result<Trained, IForestError> {
    check_params(params)?;
    let (n, n_features) = x.dim();
    if n == 0 || n_features == 0 {
        return Err(IForestError::EmptyInput {
            rows: n,
            columns: n_features,
        });
    }
    if u32::try_from(n_features).is_err() {
        return Err(IForestError::InvalidParams {
            name: "x",
            reason: format!("{n_features} columns is too many"),
        });
    }
    if let Some(((row, column), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(IForestError::NonFinite { row, column });
    }
    let subsample = params.max_samples.min(n);
    let height_limit = ceil_log2(subsample.max(2));
    // one seed per tree, drawn up front, so each tree is reproducible on its own
    let mut master = ChaCha8Rng::seed_from_u64(params.seed);
    let mut trees = Vec::with_capacity(params.n_trees);
    let mut grower = Grower {
        rows: Vec::with_capacity(subsample * n_features),
        n_features,
        height_limit,
        nodes: Vec::with_capacity(2 * subsample),
        features: (0..n_features as u32).collect(),
        rng: ChaCha8Rng::seed_from_u64(0),
    };
    for _ in 0..params.n_trees {
        grower.rng = ChaCha8Rng::seed_from_u64(master.random());
        grower.draw_rows(x, subsample);
        let mut order: Vec<u32> = (0..subsample as u32).collect();
        grower.grow(&mut order, 0);
        trees.push(std::mem::replace(
            &mut grower.nodes,
            Vec::with_capacity(2 * subsample),
        ));
    }
    Ok(Trained {
        packed: Packed::new(&trees)?,
        subsample,
    })
}

fn check_params(p: &IsolationForestParams) -> Result<(), IForestError> {
    let max = 1usize << MAX_DEPTH;
    if p.n_trees == 0 {
        return Err(IForestError::InvalidParams {
            name: "n_trees",
            reason: "must be at least 1".into(),
        });
    }
    if p.max_samples == 0 || p.max_samples > max {
        return Err(IForestError::InvalidParams {
            name: "max_samples",
            reason: format!("must be in 1..={max}, got {}", p.max_samples),
        });
    }
    Ok(())
}

/// Smallest `h` with `2^h >= n` (n >= 1).
fn ceil_log2(n: usize) -> u32 {
    usize::BITS - (n - 1).leading_zeros()
}

/// Scratch for growing one tree at a time.
struct Grower {
    /// The tree's subsample, row-major, copied so growth never strides through `x`.
    rows: Vec<f32>,
    n_features: usize,
    height_limit: u32,
    nodes: Vec<Node>,
    /// Feature order, shuffled in place at each node.
    features: Vec<u32>,
    rng: ChaCha8Rng,
}

impl Grower {
    fn draw_rows(&mut self, x: ArrayView2<'_, f32>, subsample: usize) {
        let picked = rand::seq::index::sample(&mut self.rng, x.nrows(), subsample);
        self.rows.clear();
        for r in picked {
            self.rows.extend(x.row(r).iter().copied());
        }
    }

    fn value(&self, row: u32, feature: u32) -> f32 {
        self.rows[row as usize * self.n_features + feature as usize]
    }

    /// Grows the subtree of `rows` at `depth` and returns its node index (pre-order, so
    /// children always come after their parent).
    fn grow(&mut self, rows: &mut [u32], depth: u32) -> u32 {
        let id = self.nodes.len() as u32;
        let split = if depth < self.height_limit && rows.len() > 1 {
            self.pick_split(rows)
        } else {
            None
        };
        let Some((feature, threshold)) = split else {
            self.nodes.push(Node::Leaf {
                path_length: f64::from(depth) + average_path_length(rows.len()),
            });
            return id;
        };
        self.nodes.push(Node::Leaf { path_length: 0.0 }); // placeholder until children exist
        let cut = floor_f32(threshold);
        let n_left = partition(rows, |r| self.value(r, feature) <= cut);
        let (left_rows, right_rows) = rows.split_at_mut(n_left);
        let left = self.grow(left_rows, depth + 1);
        let right = self.grow(right_rows, depth + 1);
        self.nodes[id as usize] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
        id
    }

    /// A random feature that varies among `rows` (tried without replacement) and a
    /// threshold uniform in `[min, max)` of it; `None` when every feature is constant.
    fn pick_split(&mut self, rows: &[u32]) -> Option<(u32, f64)> {
        for k in 0..self.n_features {
            let j = self.rng.random_range(k..self.n_features);
            self.features.swap(k, j);
            let feature = self.features[k];
            let (lo, hi) = rows
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &r| {
                    let v = self.value(r, feature);
                    (lo.min(v), hi.max(v))
                });
            if hi > lo {
                let (lo, hi) = (f64::from(lo), f64::from(hi));
                let mut t = lo + self.rng.random::<f64>() * (hi - lo);
                if t >= hi {
                    t = lo; // rounding reached max: keep both sides non-empty
                }
                return Some((feature, t));
            }
        }
        None
    }
}

/// Moves the rows for which `left` holds to the front; returns how many there are.
fn partition(rows: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut n_left = 0;
    for i in 0..rows.len() {
        if left(rows[i]) {
            rows.swap(n_left, i);
            n_left += 1;
        }
    }
    n_left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_log2_matches_height_limits() {
        let cases = [(2, 1), (3, 2), (4, 2), (5, 3), (255, 8), (256, 8), (257, 9)];
        for (n, h) in cases {
            assert_eq!(ceil_log2(n), h, "n={n}");
        }
    }

    #[test]
    fn partition_keeps_every_row() {
        let mut rows = [5, 1, 4, 2, 3];
        let n = partition(&mut rows, |r| r <= 2);
        assert_eq!(n, 2);
        let mut sorted = rows;
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 3, 4, 5]);
        assert!(rows[..n].iter().all(|&r| r <= 2));
    }
}
