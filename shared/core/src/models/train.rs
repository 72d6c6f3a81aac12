//! Training a CloudTrail model: learn frequencies over every event, encode,
//! keep a uniform sample of rows, fit the forest on it and calibrate severity on
//! the sample's scores.

use super::artifact::{Encoder, Model, ModelError, SchemaInfo, TrainingInfo, content_version};
use super::calibration::Calibration;
use super::hbos::Hbos;
use super::iforest::{IForestError, IsolationForest, IsolationForestParams};
use crate::features::cloudtrail::{self, CloudTrailEncoder, FEATURES, N_FEATURES};
use crate::sources::cloudtrail::CtBatch;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rows kept for fitting and calibration.
pub const SAMPLE_ROWS: usize = 200_000;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// No events to learn from.
    #[error("no CloudTrail events to train on")]
    NoData,
    /// The forest could not be fitted.
    #[error(transparent)]
    Forest(#[from] IForestError),
    /// The artifact could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Learns a model from batches. `passes` is called twice and must yield the same
/// batches each time (the CLI re-reads the files): once to learn frequencies, once
/// to encode with them.
pub fn train_cloudtrail<I, F>(
    mut passes: F,
    params: &IsolationForestParams,
) -> Result<Model, TrainError>
where
    F: FnMut() -> I,
    I: Iterator<Item = CtBatch>,
{
    let mut encoder = CloudTrailEncoder::default();
    let (mut files, mut skipped) = (0u64, 0u64);
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    for batch in passes() {
        files += 1;
        skipped += batch.skipped;
        for e in &batch.events {
            t0 = t0.min(e.time);
            t1 = t1.max(e.time);
        }
        encoder.observe(&batch);
    }
    if encoder.n == 0 {
        return Err(TrainError::NoData);
    }

    // Reservoir sample of encoded rows (Algorithm R), deterministic for the seed.
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x5eed_5a3b_1e00_u64);
    let mut sample: Vec<[f32; N_FEATURES]> = Vec::new();
    let mut seen = 0u64;
    for batch in passes() {
        let x = encoder.encode(&batch);
        for row in x.rows() {
            seen += 1;
            let mut r = [0f32; N_FEATURES];
            for (d, s) in r.iter_mut().zip(row.iter()) {
                *d = *s;
            }
            if sample.len() < SAMPLE_ROWS {
                sample.push(r);
            } else {
                let j = rng.random_range(0..seen);
                if let Some(slot) = usize::try_from(j).ok().and_then(|j| sample.get_mut(j)) {
                    *slot = r;
                }
            }
        }
    }
    let mut x = Array2::<f32>::zeros((sample.len(), N_FEATURES));
    for (i, r) in sample.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            x[[i, j]] = *v;
        }
    }
    let forest = IsolationForest::fit(x.view(), params)?;
    let scores = forest.score(x.view());
    let calibration = Calibration::from_scores(&scores);
    let flat: Vec<f32> = sample.iter().flat_map(|r| r.iter().copied()).collect();
    let hbos = Hbos::fit(&flat, N_FEATURES);
    let hbos_scores: Vec<f64> = sample.iter().map(|r| hbos.score(r)).collect();
    let hbos_calibration = Calibration::from_scores(&hbos_scores);
    let feature_bounds = (0..N_FEATURES)
        .map(|j| {
            let mut col: Vec<f32> = x.column(j).to_vec();
            col.sort_by(f32::total_cmp);
            let at = |q: usize| col[(q * (col.len() - 1)) / 100];
            (at(1), at(99))
        })
        .collect();
    let mut model = Model {
        source: crate::sources::cloudtrail::SOURCE.to_owned(),
        version: String::new(),
        schema: SchemaInfo {
            id: cloudtrail::SCHEMA_ID.to_owned(),
            names: FEATURES.iter().map(|f| f.name.to_owned()).collect(),
            hash: cloudtrail::hash(),
        },
        training: TrainingInfo {
            rows: encoder.n,
            files,
            skipped,
            time_start: t0,
            time_end: t1,
            params: params.clone(),
        },
        encoder: Encoder::CloudTrail(encoder),
        forest,
        calibration,
        hbos,
        hbos_calibration,
        feature_bounds,
    };
    let bytes = model.to_bytes()?;
    model.version = content_version(&model.source, crc32fast::hash(&bytes));
    Ok(model)
}
