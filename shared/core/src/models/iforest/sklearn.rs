//! Import of a scikit-learn `IsolationForest` from the reference pipeline's
//! `--export-json` document (format `iforest-v1`), so scores can be checked for parity.
//!
//! The export stores, per tree, scikit-learn's node arrays plus the path length of each
//! leaf (depth + c(leaf size), already summed in f64); unknown fields such as the feature
//! tables are ignored here.

use serde::Deserialize;

use super::IForestError;
use super::layout::{Node, Packed};

#[derive(Deserialize)]
struct Export {
    format: String,
    n_features: usize,
    max_samples: usize,
    c_max_samples: f64,
    trees: Vec<ExportTree>,
}

#[derive(Deserialize)]
struct ExportTree {
    children_left: Vec<i64>,
    children_right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<f64>,
    path_length: Vec<f64>,
}

/// What the import hands back to `IsolationForest::from_sklearn_json`.
pub(crate) struct Imported {
    pub(crate) packed: Packed,
    pub(crate) n_features: usize,
    pub(crate) max_samples: usize,
    pub(crate) c_max_samples: f64,
}

pub(crate) fn import(json: &str) -> Result<Imported, IForestError> {
    let doc: Export = serde_json::from_str(json).map_err(IForestError::SklearnJson)?;
    if doc.format != "iforest-v1" {
        return Err(IForestError::UnsupportedFormat(doc.format));
    }
    if doc.trees.is_empty() || doc.n_features == 0 {
        return Err(IForestError::InvalidForest(
            "export has no trees or no features".into(),
        ));
    }
    if !doc.c_max_samples.is_finite() || doc.c_max_samples < 0.0 {
        return Err(IForestError::InvalidForest(format!(
            "c_max_samples is {}",
            doc.c_max_samples
        )));
    }
    let trees = doc
        .trees
        .iter()
        .enumerate()
        .map(|(i, tree)| nodes(i, tree, doc.n_features))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Imported {
        packed: Packed::new(&trees)?,
        n_features: doc.n_features,
        max_samples: doc.max_samples,
        c_max_samples: doc.c_max_samples,
    })
}

fn nodes(tree: usize, t: &ExportTree, n_features: usize) -> Result<Vec<Node>, IForestError> {
    let invalid = |reason: String| IForestError::InvalidTree { tree, reason };
    let n = t.children_left.len();
    if [
        t.children_right.len(),
        t.feature.len(),
        t.threshold.len(),
        t.path_length.len(),
    ] != [n; 4]
    {
        return Err(invalid("node arrays differ in length".into()));
    }
    let index = |v: i64, what: &str, node: usize, bound: usize| {
        u32::try_from(v)
            .ok()
            .filter(|&u| (u as usize) < bound)
            .ok_or_else(|| invalid(format!("node {node}: {what} {v} out of range")))
    };
    (0..n)
        .map(|i| {
            if t.children_left[i] == -1 {
                let path_length = t.path_length[i];
                if !path_length.is_finite() {
                    return Err(invalid(format!("leaf {i}: path length {path_length}")));
                }
                return Ok(Node::Leaf { path_length });
            }
            let threshold = t.threshold[i];
            if !threshold.is_finite() {
                return Err(invalid(format!("node {i}: threshold {threshold}")));
            }
            Ok(Node::Split {
                feature: index(t.feature[i], "feature", i, n_features)?,
                threshold,
                left: index(t.children_left[i], "left child", i, n)?,
                right: index(t.children_right[i], "right child", i, n)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::IsolationForest;

    /// One stump: feature 1 <= 0.5 goes left (path length 1), else right (2).
    fn stump(format: &str, left_child: i64) -> String {
        format!(
            r#"{{"format": "{format}", "n_features": 2, "max_samples": 2, "c_max_samples": 1.0,
            "offset": -0.5, "user_freq": {{"a": 0.5}},
            "trees": [{{"children_left": [{left_child}, -1, -1], "children_right": [2, -1, -1],
            "feature": [1, -2, -2], "threshold": [0.5, -2.0, -2.0],
            "path_length": [0.0, 1.0, 2.0]}}]}}"#
        )
    }

    #[test]
    fn follows_the_export_traversal_rule() {
        let f = IsolationForest::from_sklearn_json(&stump("iforest-v1", 1)).unwrap();
        assert_eq!((f.n_features(), f.n_trees()), (2, 1));
        // equal to the threshold goes left
        assert_eq!(f.score_row(&[9.0, 0.5]), 0.5);
        assert_eq!(f.score_row(&[9.0, 0.500_001]), 0.25);
        assert_eq!(f.score_row(&[9.0, f32::NAN]), 0.25, "NaN goes right");
    }

    #[test]
    fn rejects_other_formats_and_broken_trees() {
        assert!(IsolationForest::from_sklearn_json(&stump("iforest-v2", 1)).is_err());
        assert!(IsolationForest::from_sklearn_json(&stump("iforest-v1", 0)).is_err());
        assert!(IsolationForest::from_sklearn_json(&stump("iforest-v1", 7)).is_err());
        assert!(IsolationForest::from_sklearn_json("{").is_err());
    }
}
