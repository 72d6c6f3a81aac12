//! Adapters of trailhound's ports on the AWS SDK: S3 for log objects and (signed)
//! models, SSM for the model signing key,
//! DynamoDB for findings and summaries, SNS for alerts, plus the retry, error
//! translation and CloudWatch metric helpers they share. Nothing here knows about
//! Lambda: functions and the CLI build these adapters and hand them to the core's
//! pipeline.

pub mod dynamo;
pub mod emf;
pub mod env;
mod error;
pub mod model;
pub mod profiles;
pub mod retry;
pub mod s3;
pub mod signing;
pub mod sns;
#[cfg(feature = "test-util")]
pub mod testing;

pub use dynamo::DynamoFindingStore;
pub use model::{PushedModel, S3ModelSource, push_model};
pub use profiles::DynamoProfileStore;
pub use s3::{S3ObjectSource, list_objects};
pub use signing::{ModelSigningKey, SigningKeySource};
pub use sns::SnsAlertSink;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Loads the shared SDK configuration from the standard sources (environment,
/// profile, container or instance credentials), including `AWS_ENDPOINT_URL` for
/// emulators. Connect and read timeouts are short so a stalled request fails (and is
/// retried) well inside a Lambda timeout.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(default_timeouts())
        .load()
        .await
}

/// The timeouts of [`load_sdk_config`]: 3 s to connect, 20 s between bytes read.
pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(20))
        .build()
}

/// The SDK clients the adapters use, built from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct Clients {
    /// S3 (path-style addressing when an endpoint override is set, as emulators need).
    pub s3: aws_sdk_s3::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// SSM (the model signing key parameter).
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    /// Builds the clients from a shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            s3: s3_client(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }
}

/// An S3 client; path-style addressing when the configuration overrides the
/// endpoint (moto, LocalStack, MinIO), virtual-hosted style on AWS.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
