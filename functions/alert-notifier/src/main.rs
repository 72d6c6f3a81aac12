//! Lambda entry point of `alert-notifier`: set up once per cold start (config, SSM,
//! webhook URL, HTTP client), then handle SNS events.

use alert_notifier::{Config, Notifier, RetryPolicy, SlackWebhook, fetch_webhook_url};
use anyhow::Context;
use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let notifier = match setup().await {
        Ok(n) => n,
        Err(e) => {
            // One structured line an operator can find; the runtime reports the init error too.
            tracing::error!(error = format!("{e:#}"), "alert-notifier cannot start");
            return Err(e.into());
        }
    };
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        notifier
            .handle(event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}

async fn setup() -> anyhow::Result<Notifier> {
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    // Read once and kept for the life of the execution environment.
    let url = fetch_webhook_url(&ssm, &config.webhook).await?;
    let webhook =
        SlackWebhook::new(url, RetryPolicy::default()).context("building the slack client")?;
    Ok(Notifier::new(webhook, config.console_region))
}
