//! Log sources: one module per source, each turning raw bytes into events.

pub mod access_log;
pub mod cloudtrail;
pub mod cwl;
pub mod vpcflow;
pub mod web_payload;
