//! `cloudtrail-ingest`: the Lambda that turns CloudTrail files landing in S3 into
//! findings in DynamoDB and severity-tagged alerts on SNS. Triggered by S3 event
//! notifications directly or through SQS; the logic lives here so tests can call
//! the real handler, and `main.rs` only wires it to the runtime.

pub mod config;
pub mod dead_letter;
pub mod event;
pub mod handler;

pub use config::Config;
pub use handler::{AwsIngest, HandlerError, Ingest};
