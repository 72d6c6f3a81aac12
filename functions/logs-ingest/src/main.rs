//! Lambda entry point: set up once (tracing, configuration, SDK clients, models),
//! then hand every subscription payload to the handler.

use anyhow::Context as _;
use lambda_runtime::{LambdaEvent, service_fn};
use logs_ingest::{AwsLogsIngest, Config};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().context("logs-ingest cannot start")?;
    let sdk = trailhound_aws::load_sdk_config().await;
    let ingest = AwsLogsIngest::on_aws(&config, &trailhound_aws::Clients::new(&sdk));
    ingest.warm_up().await;
    let ingest = &ingest;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move { ingest.handle(event).await },
    ))
    .await
}
