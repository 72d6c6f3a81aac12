//! `logs-ingest`: the Lambda that CloudWatch Logs subscription filters invoke with
//! VPC Flow Logs, web access logs or CloudTrail events. It decodes the payload (with
//! a size cap), routes each log group to its parser, scores windows and events, and
//! stores findings in DynamoDB and publishes alerts on SNS through the same
//! contracts as `cloudtrail-ingest`. The logic lives here so tests can call the real
//! handler; `main.rs` only wires it to the runtime.

pub mod config;
pub mod handler;

pub use config::Config;
pub use handler::{AwsLogsIngest, HandlerError, LogsIngest};
