//! What an emulator cannot produce, with `aws-smithy-mocks`: throttled and
//! unprocessed batch reads, cancelled transactions, a concurrent writer, failing
//! publishes, S3 errors and a read that times out.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trailhound_aws::retry::Backoff;
use trailhound_aws::testing::stop_logging_file;
use trailhound_aws::{
    DynamoFindingStore, S3ModelSource, S3ObjectSource, SnsAlertSink, list_objects,
};
use trailhound_core::pipeline::{PipelineConfig, Ports, run_object};
use trailhound_core::ports::{
    FindingStore, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource, ModelSource,
    ObjectRef, ObjectSource, Retry, StoreOutcome,
};
use trailhound_core::{Finding, Severity};

const TABLE: &str = "findings";

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

fn creds() -> Credentials {
    Credentials::new("AKIDMOCK", "mock-secret", None, None, "mock")
}

// The SDK's own retries are off so call counts show this crate's retries alone.
fn dynamo(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(creds())
        .http_client(create_mock_http_client())
        .interceptor(interceptor(rules))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn s3(rules: &[&Rule]) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(creds())
        .http_client(create_mock_http_client())
        .interceptor(interceptor(rules))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn sns(rules: &[&Rule]) -> aws_sdk_sns::Client {
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(creds())
        .http_client(create_mock_http_client())
        .interceptor(interceptor(rules))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_sns::Client::from_conf(conf)
}

fn http(status: u16, body: &str) -> Response {
    Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

fn store(client: aws_sdk_dynamodb::Client) -> DynamoFindingStore {
    DynamoFindingStore::new(client, TABLE).with_backoff(Backoff::immediate(4))
}

fn finding(i: usize) -> Finding {
    let event_id = format!("evt-{i}");
    Finding {
        finding_id: trailhound_core::finding::finding_id("cloudtrail", &event_id),
        event_id,
        source: "cloudtrail".into(),
        time: "2024-03-04T10:05:01Z".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        principal: "arn:aws:iam::123456789012:user/mallory".into(),
        action: "cloudtrail.amazonaws.com:StopLogging".into(),
        score: 0.0,
        severity: Some(Severity::Critical),
        severity_score: 9.2,
        detections: Vec::new(),
        reasons: Vec::new(),
        model_version: "none".into(),
        triage: Default::default(),
    }
}

fn stored(f: &Finding, alerted: bool) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("FINDING#{}", f.finding_id)),
        ),
        ("alerted".to_owned(), AttributeValue::Bool(alerted)),
    ])
}

fn empty_read() -> BatchGetItemOutput {
    BatchGetItemOutput::builder()
        .responses(TABLE, Vec::new())
        .build()
}

fn cancelled(reasons: &str) -> Response {
    http(
        400,
        &format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons","CancellationReasons":{reasons}}}"#
        ),
    )
}

#[tokio::test]
async fn unprocessed_keys_are_read_again_and_nothing_is_lost() {
    let findings: Vec<Finding> = (0..6).map(finding).collect();
    let all = findings.clone();
    // A throttled table: of each request, the last two keys come back unprocessed
    // until a request has only two keys left.
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(move |req| {
        let keys = req.request_items().unwrap()[TABLE].keys().to_vec();
        let split = if keys.len() > 2 {
            keys.len() - 2
        } else {
            keys.len()
        };
        let found = keys[..split]
            .iter()
            .map(|k| {
                let pk = k["pk"].as_s().unwrap();
                let f = all.iter().find(|f| pk.ends_with(&f.finding_id)).unwrap();
                stored(f, f.event_id.ends_with('0'))
            })
            .collect();
        let mut out = BatchGetItemOutput::builder().responses(TABLE, found);
        if split < keys.len() {
            let rest = KeysAndAttributes::builder()
                .set_keys(Some(keys[split..].to_vec()))
                .build()
                .unwrap();
            out = out.unprocessed_keys(TABLE, rest);
        }
        out.build()
    });
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let out = store(dynamo(&[&read, &write]))
        .put_findings(&findings)
        .await
        .unwrap();
    assert_eq!(out[0], StoreOutcome::Alerted);
    assert!(
        out[1..].iter().all(|o| *o == StoreOutcome::Unalerted),
        "{out:?}"
    );
    assert_eq!(read.num_calls(), 2);
    assert_eq!(write.num_calls(), 0, "every finding already existed");
}

#[tokio::test]
async fn keys_that_stay_unprocessed_fail_retryable_after_bounded_retries() {
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(|req| {
        BatchGetItemOutput::builder()
            .responses(TABLE, Vec::new())
            .unprocessed_keys(TABLE, req.request_items().unwrap()[TABLE].clone())
            .build()
    });
    let err = store(dynamo(&[&read]))
        .put_findings(&[finding(1)])
        .await
        .unwrap_err();
    assert_eq!(err.retry, Retry::Retryable);
    assert!(err.message.contains(TABLE), "{err}");
    assert_eq!(read.num_calls(), 5, "first call and 4 retries");
}

#[tokio::test]
async fn throttled_transactions_are_retried_and_every_finding_is_written() {
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_output(empty_read);
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(move |req| {
            seen.lock().unwrap().push(req.transact_items().len());
            true
        })
        .sequence()
        .http_response(|| cancelled(r#"[{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity"},{"Code":"None"},{"Code":"None"}]"#))
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let findings: Vec<Finding> = (0..3).map(finding).collect();
    let out = store(dynamo(&[&read, &write]))
        .put_findings(&findings)
        .await
        .unwrap();
    assert_eq!(out, [StoreOutcome::New; 3]);
    assert_eq!(
        *sizes.lock().unwrap(),
        [3, 3],
        "the retry carries every finding"
    );
}

#[tokio::test]
async fn a_concurrent_writer_is_seen_through_failed_conditions() {
    let f: Vec<Finding> = (0..3).map(finding).collect();
    let third = f[2].clone();
    // First read: nothing stored. Then another writer stores #0 (alerted) and #2
    // (not alerted) before our transaction; #2's old item is not returned, so the
    // store reads it again.
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .sequence()
        .output(empty_read)
        .output(move || {
            BatchGetItemOutput::builder()
                .responses(TABLE, vec![stored(&third, false)])
                .build()
        })
        .build();
    let pk0 = format!("FINDING#{}", f[0].finding_id);
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(move || {
            cancelled(&format!(
                r#"[{{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{{"pk":{{"S":"{pk0}"}},"alerted":{{"BOOL":true}}}}}},{{"Code":"None"}},{{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"}}]"#
            ))
        })
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let out = store(dynamo(&[&read, &write]))
        .put_findings(&f)
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            StoreOutcome::Alerted,
            StoreOutcome::New,
            StoreOutcome::Unalerted
        ]
    );
    assert_eq!(write.num_calls(), 2);
    assert_eq!(read.num_calls(), 2);
}

#[tokio::test]
async fn transactions_throttled_for_too_long_fail_retryable() {
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_output(empty_read);
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_http_response(|| {
        cancelled(
            r#"[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]"#,
        )
    });
    let err = store(dynamo(&[&read, &write]))
        .put_findings(&[finding(1)])
        .await
        .unwrap_err();
    assert_eq!(err.retry, Retry::Retryable, "{err}");
    assert_eq!(write.num_calls(), 5);
}

#[tokio::test]
async fn a_failed_publish_fails_the_object_and_its_retry_alerts_once() {
    let object = ObjectRef {
        bucket: "trail".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1005Z_a1.json.gz".into(),
    };
    let objects = InMemoryObjectSource::default();
    objects.insert(object.clone(), stop_logging_file("publish", 5).unwrap());
    let publish = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .http_response(|| {
            http(500, "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>Internal failure</Message></Error><RequestId>a1</RequestId></ErrorResponse>")
        })
        .output(|| PublishOutput::builder().message_id("m-1").build())
        .build();
    let alerts = SnsAlertSink::new(
        sns(&[&publish]),
        "arn:aws:sns:us-east-1:123456789012:alerts",
    );
    let findings = InMemoryFindingStore::default();
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource::default(),
        findings: &findings,
        alerts: &alerts,
        profiles: &trailhound_core::ports::NoProfiles,
    };
    let cfg = PipelineConfig::default();

    let err = run_object(&object, &ports, &cfg).await.unwrap_err();
    assert_eq!(err.retry(), Retry::Retryable, "{err}");
    assert_eq!(
        findings.findings().len(),
        1,
        "the finding is stored before the alert"
    );

    let report = run_object(&object, &ports, &cfg).await.unwrap();
    assert_eq!(report.summary.alerts, 1);
    run_object(&object, &ports, &cfg).await.unwrap();
    assert_eq!(
        publish.num_calls(),
        2,
        "one failed publish, one delivered, none after"
    );
    assert_eq!(findings.findings().len(), 1);
}

#[tokio::test]
async fn s3_errors_are_classified() {
    let cases = [
        (503, "SlowDown", Retry::Retryable),
        (500, "InternalError", Retry::Retryable),
        (404, "NoSuchKey", Retry::NonRetryable),
        (403, "AccessDenied", Retry::NonRetryable),
    ];
    for (status, code, want) in cases {
        let get = mock!(aws_sdk_s3::Client::get_object).then_http_response(move || {
            http(status, &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>m</Message></Error>"))
        });
        let src = S3ObjectSource::new(s3(&[&get]), 1 << 20);
        let obj = ObjectRef {
            bucket: "trail".into(),
            key: "k.json.gz".into(),
        };
        let err = src.fetch(&obj).await.err().unwrap();
        assert_eq!(err.retry, want, "{code}: {err}");
        assert!(
            err.message.contains("s3://trail/k.json.gz"),
            "{code}: {err}"
        );
    }
}

#[tokio::test]
async fn an_s3_read_that_times_out_is_retryable() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .build();
    let src = S3ObjectSource::new(aws_sdk_s3::Client::from_conf(conf), 1 << 20);
    let obj = ObjectRef {
        bucket: "trail".into(),
        key: "slow.json.gz".into(),
    };
    let err = src.fetch(&obj).await.err().unwrap();
    assert_eq!(err.retry, Retry::Retryable, "{err}");
    assert!(err.message.contains("s3://trail/slow.json.gz"), "{err}");
    drop(listener);
}

#[tokio::test]
async fn listing_follows_continuation_tokens() {
    let list = mock!(aws_sdk_s3::Client::list_objects_v2)
        .sequence()
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    aws_sdk_s3::types::Object::builder()
                        .key("AWSLogs/a.json.gz")
                        .build(),
                )
                .is_truncated(true)
                .next_continuation_token("t1")
                .build()
        })
        .output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    aws_sdk_s3::types::Object::builder()
                        .key("AWSLogs/b.json.gz")
                        .build(),
                )
                .is_truncated(false)
                .build()
        })
        .build();
    let keys: Vec<String> = list_objects(&s3(&[&list]), "trail", "AWSLogs/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["AWSLogs/a.json.gz", "AWSLogs/b.json.gz"]);
    assert_eq!(list.num_calls(), 2);
}

#[tokio::test]
async fn a_failed_revalidation_keeps_the_cached_model_and_a_cold_one_is_retryable() {
    let sim = trailhound_aws::testing::simulate(3, 1, 1_000).unwrap();
    let bytes = trailhound_aws::testing::train(&sim.objects)
        .unwrap()
        .to_bytes()
        .unwrap();
    let key = trailhound_aws::signing::test_key();
    let signature = key.sign("models/cloudtrail/model.bin", &bytes);
    let get = mock!(aws_sdk_s3::Client::get_object)
        .sequence()
        .output(move || {
            GetObjectOutput::builder()
                .e_tag("\"v1\"")
                .metadata(
                    trailhound_aws::signing::SIGNATURE_METADATA,
                    signature.clone(),
                )
                .body(ByteStream::from(bytes.clone()))
                .build()
        })
        .http_response(|| {
            http(
                503,
                "<Error><Code>SlowDown</Code><Message>m</Message></Error>",
            )
        })
        .build();
    let src = S3ModelSource::new(
        s3(&[&get]),
        "models",
        "models/cloudtrail/model.bin",
        Duration::ZERO,
    )
    .with_signing_key(trailhound_aws::SigningKeySource::Fixed(key.into()));
    assert!(src.current().await.unwrap().is_some());
    assert!(
        src.current().await.unwrap().is_some(),
        "kept across a failed revalidation"
    );

    let down = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| {
        http(
            503,
            "<Error><Code>SlowDown</Code><Message>m</Message></Error>",
        )
    });
    let cold = S3ModelSource::new(
        s3(&[&down]),
        "models",
        "models/cloudtrail/model.bin",
        Duration::ZERO,
    );
    assert_eq!(cold.current().await.unwrap_err().retry, Retry::Retryable);
}
