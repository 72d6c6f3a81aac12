//! Lambda entry point: set up once (tracing, configuration, SDK clients, model),
//! then hand every event to the handler.

use anyhow::Context as _;
use cloudtrail_ingest::{AwsIngest, Config};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().context("cloudtrail-ingest cannot start")?;
    let sdk = trailhound_aws::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ingest = AwsIngest::on_aws(&config, &trailhound_aws::Clients::new(&sdk), &sqs);
    ingest.warm_up().await;
    let ingest = &ingest;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ingest.handle(event).await
    }))
    .await
}
