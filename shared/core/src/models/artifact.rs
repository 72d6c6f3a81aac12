//! The model artifact: everything scoring needs, in one versioned, checksummed
//! file. Layout: magic `THMODEL\0`, format version (u32 LE), CRC-32 of the payload
//! (u32 LE), payload length (u64 LE), then the postcard-encoded [`Model`].

use super::calibration::Calibration;
use super::hbos::Hbos;
use super::iforest::{IsolationForest, IsolationForestParams};
use super::pca::Pca;
use crate::features::access_log::AccessLogEncoder;
use crate::features::cloudtrail::CloudTrailEncoder;
use crate::features::vpcflow::VpcFlowEncoder;
use serde::{Deserialize, Serialize};

/// Current artifact format version.
pub const FORMAT_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"THMODEL\0";
const HEADER: usize = 8 + 4 + 4 + 8;

/// The feature schema a model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaInfo {
    /// Schema id, e.g. `cloudtrail-v1`.
    pub id: String,
    /// Column names in order.
    pub names: Vec<String>,
    /// Stable hash of id and names.
    pub hash: String,
}

/// How the model was trained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Training rows (events).
    pub rows: u64,
    /// Files read.
    pub files: u64,
    /// Malformed records skipped.
    pub skipped: u64,
    /// Earliest event time (epoch seconds).
    pub time_start: i64,
    /// Latest event time (epoch seconds).
    pub time_end: i64,
    /// Isolation Forest parameters.
    pub params: IsolationForestParams,
}

/// The per-source part of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[expect(
    clippy::large_enum_variant,
    reason = "one encoder per model, built once and never moved in a hot loop"
)]
pub enum Encoder {
    /// CloudTrail frequencies and novelty sets.
    CloudTrail(CloudTrailEncoder),
    /// VPC Flow Logs: common ports, familiar (source, port) pairs and destinations.
    VpcFlow(VpcFlowEncoder),
    /// Web access logs: path frequencies and each path's busiest minute.
    AccessLog(AccessLogEncoder),
}

/// The PCA detector of a model and the distribution of its training scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcaDetector {
    /// Standardisation and kept components.
    pub pca: Pca,
    /// Distribution of training reconstruction errors.
    pub calibration: Calibration,
}

/// A trained model of one source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Log source, e.g. `cloudtrail`.
    pub source: String,
    /// Version string, derived from the content (`cloudtrail-1a2b3c4d`).
    pub version: String,
    /// Feature schema.
    pub schema: SchemaInfo,
    /// Training metadata.
    pub training: TrainingInfo,
    /// What the features learned.
    pub encoder: Encoder,
    /// The forest.
    pub forest: IsolationForest,
    /// Distribution of training scores.
    pub calibration: Calibration,
    /// Per-feature histograms (the second detector).
    pub hbos: Hbos,
    /// Distribution of training HBOS scores.
    pub hbos_calibration: Calibration,
    /// Per-feature training percentiles 1 and 99, for explanations.
    pub feature_bounds: Vec<(f32, f32)>,
    /// PCA reconstruction error (network and web sources; `None` for CloudTrail).
    pub pca: Option<PcaDetector>,
}

/// Why a model was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a trailhound model file.
    #[error("not a trailhound model (bad magic)")]
    BadMagic,
    /// Written by another format version.
    #[error("model format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    Version {
        /// Version in the file.
        found: u32,
    },
    /// Cut short or corrupted.
    #[error("model is corrupt: {0}")]
    Corrupt(String),
    /// Trained on another feature schema.
    #[error(
        "model schema {found} does not match this build's {expected} ({id}); retrain the model"
    )]
    SchemaMismatch {
        /// Schema id.
        id: String,
        /// Hash in the model.
        found: String,
        /// Hash this build computes.
        expected: String,
    },
    /// Internally inconsistent (e.g. forest width differs from the schema).
    #[error("model is inconsistent: {0}")]
    Inconsistent(String),
}

impl Model {
    /// The model's version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Serialises to the artifact format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let payload = postcard::to_stdvec(self).map_err(|e| ModelError::Corrupt(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Reads and checks an artifact: magic, version, checksum, schema and shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[i..i + 4]);
            u32::from_le_bytes(b)
        };
        let found = u32_at(8);
        if found != FORMAT_VERSION {
            return Err(ModelError::Version { found });
        }
        let crc = u32_at(12);
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&bytes[16..24]);
        let len = u64::from_le_bytes(len8);
        let payload = &bytes[HEADER..];
        if payload.len() as u64 != len {
            return Err(ModelError::Corrupt(format!(
                "payload is {} bytes, header says {len}",
                payload.len()
            )));
        }
        if crc32fast::hash(payload) != crc {
            return Err(ModelError::Corrupt("checksum mismatch".into()));
        }
        let model: Model =
            postcard::from_bytes(payload).map_err(|e| ModelError::Corrupt(e.to_string()))?;
        model.check()?;
        Ok(model)
    }

    /// Checks that the model fits this build's schema for its source.
    pub fn check(&self) -> Result<(), ModelError> {
        let (id, expected, width) = match &self.encoder {
            Encoder::CloudTrail(_) => (
                crate::features::cloudtrail::SCHEMA_ID,
                crate::features::cloudtrail::hash(),
                crate::features::cloudtrail::N_FEATURES,
            ),
            Encoder::VpcFlow(_) => (
                crate::features::vpcflow::SCHEMA_ID,
                crate::features::vpcflow::hash(),
                crate::features::vpcflow::N_FEATURES,
            ),
            Encoder::AccessLog(_) => (
                crate::features::access_log::SCHEMA_ID,
                crate::features::access_log::hash(),
                crate::features::access_log::N_FEATURES,
            ),
        };
        if self.schema.id != id || self.schema.hash != expected {
            return Err(ModelError::SchemaMismatch {
                id: self.schema.id.clone(),
                found: self.schema.hash.clone(),
                expected,
            });
        }
        if self.forest.n_features() != width
            || self.feature_bounds.len() != width
            || self.hbos.features.len() != width
        {
            return Err(ModelError::Inconsistent(format!(
                "forest has {} features, bounds {}, schema {width}",
                self.forest.n_features(),
                self.feature_bounds.len()
            )));
        }
        if let Some(p) = &self.pca {
            if p.pca.width != width
                || p.pca.means.len() != width
                || p.pca.scales.len() != width
                || p.pca.components.len() % width.max(1) != 0
            {
                return Err(ModelError::Inconsistent(format!(
                    "PCA has width {}, schema {width}",
                    p.pca.width
                )));
            }
        }
        Ok(())
    }
}

/// A content-derived version: source name and the first 32 bits of the payload's CRC.
pub fn content_version(source: &str, payload_crc: u32) -> String {
    format!("{source}-{payload_crc:08x}")
}
