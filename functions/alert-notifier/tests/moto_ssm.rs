//! The webhook URL read through moto's SSM (and Secrets Manager through SSM's reference
//! path), then used for a real post to a fake Slack on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use alert_notifier::secret::SecretError;
use alert_notifier::{Notifier, RetryPolicy, SlackWebhook, WebhookSource, fetch_webhook_url};
use aws_sdk_ssm::types::ParameterType;
use common::{
    FakeSlack, RecordingSleep, Reply, finding, moto_endpoint, sns_event_with, ssm_client, unique,
};

async fn put_secure(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_the_webhook_from_a_secure_string_and_posts_through_it() {
    let Some(endpoint) =
        moto_endpoint("reads_the_webhook_from_a_secure_string_and_posts_through_it")
    else {
        return;
    };
    let ssm = ssm_client(&endpoint);
    let slack = FakeSlack::start(vec![Reply::new(200, "ok")]);
    let name = format!("/{}/slack-webhook", unique("trailhound-test"));
    put_secure(&ssm, &name, &slack.url()).await;

    let url = fetch_webhook_url(&ssm, &WebhookSource::SsmParameter(name))
        .await
        .unwrap();
    assert!(
        !format!("{url:?}").contains("sekrit"),
        "the url is redacted in debug output"
    );
    let hook =
        SlackWebhook::with_sleep(url, RetryPolicy::default(), RecordingSleep::default()).unwrap();
    let outcome = Notifier::new(hook, None)
        .handle(sns_event_with(&finding("high")))
        .await
        .unwrap();

    assert_eq!(outcome.delivered, 1);
    assert_eq!(slack.bodies().len(), 1);
}

#[tokio::test]
async fn a_missing_parameter_is_an_error_that_names_it() {
    let Some(endpoint) = moto_endpoint("a_missing_parameter_is_an_error_that_names_it") else {
        return;
    };
    let name = format!("/{}/absent", unique("trailhound-test"));
    let err = fetch_webhook_url(
        &ssm_client(&endpoint),
        &WebhookSource::SsmParameter(name.clone()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SecretError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
}

#[tokio::test]
async fn a_value_that_is_not_a_webhook_is_refused_without_echoing_it() {
    let Some(endpoint) =
        moto_endpoint("a_value_that_is_not_a_webhook_is_refused_without_echoing_it")
    else {
        return;
    };
    let ssm = ssm_client(&endpoint);
    let name = format!("/{}/bad", unique("trailhound-test"));
    put_secure(&ssm, &name, "http://example.com/hooks/very-secret-value").await;
    let err = fetch_webhook_url(&ssm, &WebhookSource::SsmParameter(name))
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::BadUrl { .. }), "{err}");
    assert!(
        !format!("{err} {err:?}").contains("very-secret-value"),
        "{err:?}"
    );
}

#[tokio::test]
async fn reads_a_secrets_manager_secret_through_the_ssm_reference_path() {
    let Some(endpoint) =
        moto_endpoint("reads_a_secrets_manager_secret_through_the_ssm_reference_path")
    else {
        return;
    };
    let secret = unique("trailhound-test-slack");
    create_secret(
        &endpoint,
        &secret,
        r#"{"webhook_url":"https://hooks.slack.com/services/T/B/x"}"#,
    )
    .await;
    let url = fetch_webhook_url(
        &ssm_client(&endpoint),
        &WebhookSource::SecretsManager(secret),
    )
    .await
    .unwrap();
    assert!(format!("{url:?}").contains("hooks.slack.com"));
}

/// Creates a secret with one JSON-protocol call: the notifier itself needs no Secrets
/// Manager client, so the test does not pull one in either. moto does not check
/// signatures; it routes on the credential scope's service name.
async fn create_secret(endpoint: &str, name: &str, value: &str) {
    let response = reqwest::Client::new()
        .post(endpoint)
        .header("X-Amz-Target", "secretsmanager.CreateSecret")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20240304/us-east-1/secretsmanager/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(serde_json::json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap_or_default()
    );
}
