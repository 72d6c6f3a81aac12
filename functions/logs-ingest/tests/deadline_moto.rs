//! The invocation deadline in logs-ingest, with the real handler against moto: a
//! payload the deadline stops fails only its invocation (to the dead-letter queue,
//! `Retryable.Deadline`), and its replay stores and alerts each finding once.
//! Skipped with a message when `TRAILHOUND_MOTO_ENDPOINT` is unset.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_runtime::{Context, LambdaEvent};
use logs_ingest::{AwsLogsIngest, Config};
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailhound_aws::signing::store_test_key;
use trailhound_aws::testing::{
    FilteredQueue, moto_config, moto_endpoint, stored_findings, unique_name,
};
use trailhound_aws::{Clients, dynamo::create_table};
use trailhound_core::pipeline::Margin;

struct Env {
    clients: Clients,
    config: Config,
    alerts: FilteredQueue,
}

async fn env(test: &str) -> Option<Env> {
    let endpoint = moto_endpoint(test)?;
    let sdk = moto_config(&endpoint).await;
    let clients = Clients::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (models, table) = (unique_name("th-models"), unique_name("th-findings"));
    clients
        .s3
        .create_bucket()
        .bucket(&models)
        .send()
        .await
        .unwrap();
    create_table(&clients.dynamodb, &table).await.unwrap();
    let topic_arn = clients
        .sns
        .create_topic()
        .name(unique_name("th-alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let alerts = FilteredQueue::subscribe(
        &clients.sns,
        &sqs,
        &topic_arn,
        r#"{"severity":["CRITICAL"]}"#,
    )
    .await
    .unwrap();
    let vars = [
        ("FINDINGS_TABLE", table),
        ("ALERTS_TOPIC_ARN", topic_arn),
        ("MODEL_BUCKET", models),
        (
            "MODEL_SIGNING_KEY_PARAMETER",
            store_test_key(&clients.ssm).await.unwrap(),
        ),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Some(Env {
        clients,
        config,
        alerts,
    })
}

/// CloudTrail delivered to CloudWatch Logs: `n` `StopLogging` calls, each by its
/// own user (a critical finding and an alert each), as one subscription event.
fn stop_logging_payload(n: usize) -> Vec<u8> {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let record = json!({
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "IAMUser",
                    "arn": format!("arn:aws:iam::123456789012:user/cwl-u{i}"),
                    "accountId": "123456789012",
                    "userName": format!("cwl-u{i}")
                },
                "eventTime": format!("2024-03-04T10:05:{:02}Z", i % 60),
                "eventSource": "cloudtrail.amazonaws.com",
                "eventName": "StopLogging",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "aws-cli/2.15.0",
                "requestID": format!("cwl-req-{i}"),
                "eventID": format!("cwl-evt-{i}"),
                "readOnly": false,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "123456789012"
            });
            json!({"id": format!("3829{i:052}"), "timestamp": 1_709_546_700_000i64, "message": record.to_string()})
        })
        .collect();
    let payload = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs-123456789012",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["trailhound-logs"],
        "logEvents": events,
    });
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(payload.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    json!({"awslogs": {"data": data}}).to_string().into_bytes()
}

async fn invoke_with(
    ingest: &AwsLogsIngest,
    event: &[u8],
    ms: u64,
) -> Result<(), logs_ingest::HandlerError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut context = Context::default();
    context.deadline = u64::try_from(now).unwrap() + ms;
    let raw = serde_json::value::RawValue::from_string(String::from_utf8(event.to_vec()).unwrap())
        .unwrap();
    ingest.handle(LambdaEvent::new(raw, context)).await
}

#[tokio::test]
async fn a_payload_stopped_at_the_deadline_fails_its_invocation_and_replays_once() {
    let Some(env) = env("logs_a_payload_stopped_at_the_deadline").await else {
        return;
    };
    let mut ingest = AwsLogsIngest::on_aws(&env.config, &env.clients);
    ingest.margin = Margin {
        min: Duration::from_millis(100),
        fraction: 0.10,
    };
    let event = stop_logging_payload(5);

    // 50 ms left is inside the margin: the payload is stopped before it stores.
    let err = invoke_with(&ingest, &event, 50).await.unwrap_err();
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(
        diagnostic.error_type, "Retryable.Deadline",
        "{}",
        diagnostic.error_message
    );
    let stored = || stored_findings(&env.clients.dynamodb, &env.config.ingest.findings_table);
    assert!(stored().await.unwrap().is_empty());
    assert!(env.alerts.drain().await.unwrap().is_empty());

    // The redrive, with time: five findings, five alerts; a second redrive adds none.
    invoke_with(&ingest, &event, 60_000).await.unwrap();
    assert_eq!(stored().await.unwrap().len(), 5);
    assert_eq!(env.alerts.drain().await.unwrap().len(), 5);
    invoke_with(&ingest, &event, 60_000).await.unwrap();
    assert_eq!(stored().await.unwrap().len(), 5);
    assert!(
        env.alerts.drain().await.unwrap().is_empty(),
        "an alert went out twice"
    );
}
