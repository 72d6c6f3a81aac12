//! Models that score feature vectors: the Isolation Forest, its calibration, and the
//! model artifact that carries them between training and scoring.

pub mod artifact;
pub mod calibration;
pub mod hbos;
pub mod iforest;
pub mod pca;
pub mod train;
