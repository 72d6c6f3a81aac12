//! Log sources: one module per source, each turning raw bytes into events.

pub mod cloudtrail;
