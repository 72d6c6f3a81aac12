//! Training: a CloudTrail model (learn frequencies over every event, encode, keep
//! a uniform sample of rows, fit the forest on it and calibrate severity on the
//! sample's scores), and the window models of VPC Flow Logs and access logs (learn
//! the encoder, aggregate windows, fit forest, histograms and PCA on the window
//! rows, calibrate each on them).

use super::artifact::{
    Encoder, Model, ModelError, PcaDetector, SchemaInfo, TrainingInfo, content_version,
};
use super::calibration::Calibration;
use super::hbos::Hbos;
use super::iforest::{IForestError, IsolationForest, IsolationForestParams};
use super::pca::Pca;
use crate::features::access_log::{self, AccessLogEncoder, WebBatch, WebWindows};
use crate::features::cloudtrail::{self, CloudTrailEncoder, FEATURES, N_FEATURES};
use crate::features::vpcflow::{self, FlowBatch, FlowWindows, VpcFlowEncoder};
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
    /// Too few windows to learn what normal traffic looks like.
    #[error("only {got} {log_source} windows to train on (at least {MIN_WINDOWS} needed)")]
    TooFewWindows {
        /// Log source.
        log_source: &'static str,
        /// Windows found.
        got: usize,
    },
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
        pca: None,
    };
    let bytes = model.to_bytes()?;
    model.version = content_version(&model.source, crc32fast::hash(&bytes));
    Ok(model)
}

/// The detectors of a window model, fitted on training rows (row-major).
struct Fitted {
    forest: IsolationForest,
    calibration: Calibration,
    hbos: Hbos,
    hbos_calibration: Calibration,
    feature_bounds: Vec<(f32, f32)>,
    pca: Option<PcaDetector>,
}

/// Fits forest, histograms and PCA on window rows and calibrates each on them.
fn fit_windows(
    rows: &[f32],
    width: usize,
    params: &IsolationForestParams,
) -> Result<Fitted, TrainError> {
    let n = rows.len() / width;
    let x = Array2::from_shape_vec((n, width), rows.to_vec())
        .map_err(|e| TrainError::Model(ModelError::Inconsistent(e.to_string())))?;
    let forest = IsolationForest::fit(x.view(), params)?;
    let calibration = Calibration::from_scores(&forest.score(x.view()));
    let hbos = Hbos::fit(rows, width);
    let hbos_scores: Vec<f64> = rows.chunks_exact(width).map(|r| hbos.score(r)).collect();
    let hbos_calibration = Calibration::from_scores(&hbos_scores);
    // A batch too small for PCA still trains the forest and histograms.
    let pca = Pca::fit(rows, width).ok().map(|pca| {
        let scores: Vec<f64> = rows.chunks_exact(width).map(|r| pca.score(r)).collect();
        PcaDetector {
            calibration: Calibration::from_scores(&scores),
            pca,
        }
    });
    let feature_bounds = (0..width)
        .map(|j| {
            let mut col: Vec<f32> = rows.chunks_exact(width).map(|r| r[j]).collect();
            col.sort_by(f32::total_cmp);
            let at = |q: usize| col[(q * (col.len() - 1)) / 100];
            (at(1), at(99))
        })
        .collect();
    Ok(Fitted {
        forest,
        calibration,
        hbos,
        hbos_calibration,
        feature_bounds,
        pca,
    })
}

/// Training extent shared by the window sources.
#[derive(Default)]
struct Extent {
    files: u64,
    skipped: u64,
    events: u64,
    t0: Option<i64>,
    t1: Option<i64>,
}

impl Extent {
    fn see(&mut self, t: i64) {
        self.t0 = Some(self.t0.map_or(t, |a| a.min(t)));
        self.t1 = Some(self.t1.map_or(t, |a| a.max(t)));
    }
}

/// Assembles and versions a window model.
fn window_model(
    source: &str,
    schema: SchemaInfo,
    encoder: Encoder,
    ext: &Extent,
    rows: u64,
    fitted: Fitted,
    params: &IsolationForestParams,
) -> Result<Model, TrainError> {
    let _ = rows;
    let mut model = Model {
        source: source.to_owned(),
        version: String::new(),
        schema,
        training: TrainingInfo {
            rows: ext.events,
            files: ext.files,
            skipped: ext.skipped,
            time_start: ext.t0.unwrap_or(0),
            time_end: ext.t1.unwrap_or(0),
            params: params.clone(),
        },
        encoder,
        forest: fitted.forest,
        calibration: fitted.calibration,
        hbos: fitted.hbos,
        hbos_calibration: fitted.hbos_calibration,
        feature_bounds: fitted.feature_bounds,
        pca: fitted.pca,
    };
    let bytes = model.to_bytes()?;
    model.version = content_version(&model.source, crc32fast::hash(&bytes));
    Ok(model)
}

/// Least training windows a window model needs.
pub const MIN_WINDOWS: usize = 16;

/// What a window source gives the shared training code: its batch and encoder
/// types, how to learn and encode, and its schema.
trait WindowSource {
    type Batch;
    type Enc: Default;
    const SOURCE: &'static str;
    const SCHEMA_ID: &'static str;
    const WIDTH: usize;
    fn names() -> Vec<String>;
    fn hash() -> String;
    /// Records skipped, and the time of every event.
    fn extent(batch: &Self::Batch, ext: &mut Extent);
    fn observe(enc: &mut Self::Enc, batch: &Self::Batch);
    fn finish(enc: &mut Self::Enc);
    /// Appends one row per source window.
    fn rows(batch: &Self::Batch, enc: &Self::Enc, rows: &mut Vec<f32>);
    fn encoder(enc: Self::Enc) -> Encoder;
}

struct AccessLogSource;

impl WindowSource for AccessLogSource {
    type Batch = WebBatch;
    type Enc = AccessLogEncoder;
    const SOURCE: &'static str = access_log::SOURCE;
    const SCHEMA_ID: &'static str = access_log::SCHEMA_ID;
    const WIDTH: usize = access_log::N_FEATURES;
    fn names() -> Vec<String> {
        access_log::FEATURES
            .iter()
            .map(|f| f.name.to_owned())
            .collect()
    }
    fn hash() -> String {
        access_log::hash()
    }
    fn extent(batch: &WebBatch, ext: &mut Extent) {
        ext.skipped += batch.skipped;
        ext.events += batch.events.len() as u64;
        for e in &batch.events {
            ext.see(e.time);
        }
    }
    fn observe(enc: &mut AccessLogEncoder, batch: &WebBatch) {
        enc.observe(batch);
    }
    fn finish(enc: &mut AccessLogEncoder) {
        enc.finish();
    }
    fn rows(batch: &WebBatch, enc: &AccessLogEncoder, rows: &mut Vec<f32>) {
        let w = WebWindows::build(batch, Some(enc));
        for s in &w.src {
            rows.extend_from_slice(&w.row(s));
        }
    }
    fn encoder(enc: AccessLogEncoder) -> Encoder {
        Encoder::AccessLog(enc)
    }
}

struct VpcFlowSource;

impl WindowSource for VpcFlowSource {
    type Batch = FlowBatch;
    type Enc = VpcFlowEncoder;
    const SOURCE: &'static str = vpcflow::SOURCE;
    const SCHEMA_ID: &'static str = vpcflow::SCHEMA_ID;
    const WIDTH: usize = vpcflow::N_FEATURES;
    fn names() -> Vec<String> {
        vpcflow::FEATURES
            .iter()
            .map(|f| f.name.to_owned())
            .collect()
    }
    fn hash() -> String {
        vpcflow::hash()
    }
    fn extent(batch: &FlowBatch, ext: &mut Extent) {
        ext.skipped += batch.skipped;
        ext.events += batch.events.len() as u64;
        for e in &batch.events {
            ext.see(e.time);
        }
    }
    fn observe(enc: &mut VpcFlowEncoder, batch: &FlowBatch) {
        enc.observe(batch);
    }
    fn finish(enc: &mut VpcFlowEncoder) {
        enc.finish();
    }
    fn rows(batch: &FlowBatch, enc: &VpcFlowEncoder, rows: &mut Vec<f32>) {
        let w = FlowWindows::build(batch, Some(enc));
        for s in &w.src {
            rows.extend_from_slice(&w.row(s));
        }
    }
    fn encoder(enc: VpcFlowEncoder) -> Encoder {
        Encoder::VpcFlow(enc)
    }
}

/// Learns a window model: a first pass learns the encoder (frequencies, known
/// pairs), a second encodes every source window; then the detectors are fitted.
fn train_windows<S, I, F>(
    mut passes: F,
    params: &IsolationForestParams,
) -> Result<Model, TrainError>
where
    S: WindowSource,
    F: FnMut() -> I,
    I: Iterator<Item = S::Batch>,
{
    let mut enc = S::Enc::default();
    let mut ext = Extent::default();
    for batch in passes() {
        ext.files += 1;
        S::extent(&batch, &mut ext);
        S::observe(&mut enc, &batch);
    }
    S::finish(&mut enc);
    let mut rows = Vec::new();
    for batch in passes() {
        S::rows(&batch, &enc, &mut rows);
    }
    let width = S::WIDTH;
    if rows.len() / width < MIN_WINDOWS {
        return Err(TrainError::TooFewWindows {
            log_source: S::SOURCE,
            got: rows.len() / width,
        });
    }
    let n = (rows.len() / width) as u64;
    let fitted = fit_windows(&rows, width, params)?;
    let schema = SchemaInfo {
        id: S::SCHEMA_ID.to_owned(),
        names: S::names(),
        hash: S::hash(),
    };
    window_model(S::SOURCE, schema, S::encoder(enc), &ext, n, fitted, params)
}

/// Learns a web access log model from batches; `passes` is called twice and must
/// yield the same batches (once to learn path frequencies, once to encode windows).
pub fn train_access_log<I, F>(
    passes: F,
    params: &IsolationForestParams,
) -> Result<Model, TrainError>
where
    F: FnMut() -> I,
    I: Iterator<Item = WebBatch>,
{
    train_windows::<AccessLogSource, _, _>(passes, params)
}

/// Learns a VPC Flow Logs model from batches; `passes` is called twice and must
/// yield the same batches (once to learn ports and pairs, once to encode windows).
pub fn train_vpcflow<I, F>(passes: F, params: &IsolationForestParams) -> Result<Model, TrainError>
where
    F: FnMut() -> I,
    I: Iterator<Item = FlowBatch>,
{
    train_windows::<VpcFlowSource, _, _>(passes, params)
}
