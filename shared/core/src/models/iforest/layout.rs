//! Flat, complete-tree storage of a fitted forest, and the conversion into it from the
//! node-list trees that training and the scikit-learn import produce.
//!
//! Every tree is stored at the forest's depth `D` (8 to 12): `2^D` split slots and `2^D`
//! leaf slots per tree. Splits form a binary heap from slot 1 (children of slot `i` are
//! `2i` and `2i + 1`; slot 0 is unused), so every row takes exactly `D` branch-free steps
//! per tree and ends on slot `2^D + leaf`. A leaf that ends above depth `D` writes its path
//! length into every leaf slot below it, so whichever way the padding splits send a row,
//! it lands on the right value. Depth 8 is the floor because it is what the default 256
//! samples give, and one fixed size keeps the scoring kernels few.

use serde::{Deserialize, Serialize};

use super::IForestError;

/// Shallowest stored depth: shallower trees are padded to it.
pub(crate) const MIN_DEPTH: u32 = 8;
/// Deepest tree stored: `2^12` leaves (64 KiB a tree), enough for `max_samples` up to 4096.
pub(crate) const MAX_DEPTH: u32 = 12;

/// One split slot: rows with `x[feature] <= threshold` go left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Split {
    pub(crate) feature: u32,
    /// The largest f32 not above the f64 threshold, so an f32 comparison decides exactly as
    /// scikit-learn's `x as f64 <= threshold` does. `+inf` marks padding below a leaf.
    pub(crate) threshold: f32,
}

/// Padding below an early leaf; every leaf slot under it holds the same value.
pub(crate) const PAD: Split = Split {
    feature: 0,
    threshold: f32::INFINITY,
};

/// A tree as a list of nodes, children after their parent (training and scikit-learn
/// both number nodes in pre-order).
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Split {
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
    },
    Leaf {
        path_length: f64,
    },
}

/// All trees of a forest in complete-tree layout.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    pub(crate) depth: u32,
    pub(crate) splits: Vec<Split>,
    pub(crate) leaves: Vec<f64>,
}

impl Packed {
    /// Lays out `trees` (each with its root at `nodes[0]`) at their common depth.
    pub(crate) fn new(trees: &[Vec<Node>]) -> Result<Self, IForestError> {
        let mut depth = MIN_DEPTH;
        for (t, nodes) in trees.iter().enumerate() {
            depth = depth.max(tree_depth(t, nodes)?);
        }
        let width = 1usize << depth;
        let mut p = Packed {
            depth,
            splits: vec![PAD; trees.len() * width],
            leaves: vec![0.0; trees.len() * width],
        };
        for (t, nodes) in trees.iter().enumerate() {
            let splits = &mut p.splits[t * width..(t + 1) * width];
            let leaves = &mut p.leaves[t * width..(t + 1) * width];
            fill(nodes, depth, splits, leaves);
        }
        Ok(p)
    }
}

/// Writes one checked tree into its `2^depth` split and leaf slots.
fn fill(nodes: &[Node], depth: u32, splits: &mut [Split], leaves: &mut [f64]) {
    // (node index, heap slot, depth of the node)
    let mut stack = vec![(0usize, 1usize, 0u32)];
    while let Some((node, slot, d)) = stack.pop() {
        match nodes[node] {
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                splits[slot] = Split {
                    feature,
                    threshold: floor_f32(threshold),
                };
                stack.push((right as usize, 2 * slot + 1, d + 1));
                stack.push((left as usize, 2 * slot, d + 1));
            }
            Node::Leaf { path_length } => {
                let below = depth - d;
                let first = (slot << below) - (1usize << depth);
                leaves[first..first + (1usize << below)].fill(path_length);
            }
        }
    }
}

/// Depth of the deepest leaf, checking that children come after their parent (so the
/// walk ends) and that the tree fits the layout.
fn tree_depth(tree: usize, nodes: &[Node]) -> Result<u32, IForestError> {
    let invalid = |reason: String| IForestError::InvalidTree { tree, reason };
    if nodes.is_empty() {
        return Err(invalid("no nodes".into()));
    }
    let mut deepest = 0;
    let mut stack = vec![(0usize, 0u32)];
    while let Some((node, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Err(IForestError::TooDeep {
                tree,
                max: MAX_DEPTH,
            });
        }
        deepest = deepest.max(d);
        if let Node::Split { left, right, .. } = nodes[node] {
            for child in [left as usize, right as usize] {
                if child <= node || child >= nodes.len() {
                    return Err(invalid(format!("node {node} has child {child}")));
                }
                stack.push((child, d + 1));
            }
        }
    }
    Ok(deepest)
}

/// The largest f32 that is `<= t`: for any f32 `x`, `x <= floor_f32(t)` exactly when
/// `f64::from(x) <= t`.
pub(crate) fn floor_f32(t: f64) -> f32 {
    let f = t as f32; // nearest f32; corrected below when it rounded up
    if f64::from(f) <= t || f.is_nan() {
        return f;
    }
    // f rounded up: step one f32 towards -inf (f is not -inf here, as t > -inf)
    let bits = f.to_bits();
    if f == 0.0 {
        -f32::from_bits(1)
    } else if f > 0.0 {
        f32::from_bits(bits - 1)
    } else {
        f32::from_bits(bits + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_f32_decides_like_an_f64_comparison() {
        let ts = [
            0.1,
            -0.1,
            1.0,
            1e-40,
            -1e-40,
            0.0,
            3.000_000_1,
            -3.000_000_1,
            1e39,
            -1e39,
            f64::INFINITY,
        ];
        for t in ts {
            let f = floor_f32(t);
            assert!(f64::from(f) <= t, "{t}");
            let up = if f >= 0.0 {
                f32::from_bits(f.to_bits() + 1)
            } else {
                f32::from_bits(f.to_bits() - 1)
            };
            for x in [f, up, 0.0, -0.0, 1.0, -1.0] {
                assert_eq!(x <= f, f64::from(x) <= t, "t={t} x={x}");
            }
        }
    }

    #[test]
    fn early_leaf_fills_every_leaf_slot_below_it() {
        // root splits; left child is a leaf at depth 1, right child splits again
        let nodes = [
            Node::Split {
                feature: 1,
                threshold: 0.5,
                left: 1,
                right: 2,
            },
            Node::Leaf { path_length: 1.0 },
            Node::Split {
                feature: 0,
                threshold: 2.0,
                left: 3,
                right: 4,
            },
            Node::Leaf { path_length: 2.0 },
            Node::Leaf { path_length: 3.0 },
        ];
        let p = Packed::new(&[nodes.to_vec()]).unwrap();
        assert_eq!(p.depth, MIN_DEPTH);
        // the left half of the leaf slots is under leaf 1, then a quarter each
        let quarter = 1 << (MIN_DEPTH - 2);
        assert!(p.leaves[..2 * quarter].iter().all(|&v| v == 1.0));
        assert!(p.leaves[2 * quarter..3 * quarter].iter().all(|&v| v == 2.0));
        assert!(p.leaves[3 * quarter..].iter().all(|&v| v == 3.0));
        assert_eq!(p.splits[1].feature, 1);
        assert_eq!(p.splits[2], PAD);
        assert_eq!(p.splits[3].feature, 0);
    }

    #[test]
    fn rejects_children_before_parent() {
        let nodes = [Node::Split {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
        }];
        assert!(Packed::new(&[nodes.to_vec()]).is_err());
    }
}
