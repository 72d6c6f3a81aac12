//! The DynamoDB dedup claim where an emulator cannot go, with `aws-smithy-mocks`: a
//! throttled claim fails `Retryable` (the object is retried, nothing alerts on a
//! guess), a refused one `NonRetryable`, and a full id set falls back to the
//! `overflow` counter.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use std::collections::HashMap;
use trailhound_aws::DynamoFindingStore;
use trailhound_core::ports::{AlertClaim, FindingStore, Retry};

fn dynamo(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    );
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        // The SDK's own retries are off: the classification is what is tested.
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn error(status: u16, code: &str) -> Response {
    let body =
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{code}"}}"#);
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

const IDS: [&str; 2] = [
    "0123456789abcdef0123456789abcdef",
    "fedcba9876543210fedcba9876543210",
];

fn claim(ids: &[String]) -> AlertClaim<'_> {
    AlertClaim {
        key: "123456789012|ct.root.usage|arn:aws:iam::123456789012:root|high",
        window_start: 1_709_632_800,
        window_seconds: 3600,
        finding_ids: ids,
    }
}

#[tokio::test]
async fn a_throttled_claim_fails_retryable_and_a_refused_one_does_not() {
    let ids: Vec<String> = IDS.iter().map(|s| (*s).to_owned()).collect();
    let throttled = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_http_response(|| error(400, "ProvisionedThroughputExceededException"));
    let store = DynamoFindingStore::new(dynamo(&[&throttled]), "findings");
    let err = store.claim_alert(&claim(&ids)).await.unwrap_err();
    assert_eq!(err.retry, Retry::Retryable, "{err}");

    let refused = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_http_response(|| error(400, "ValidationException"));
    let store = DynamoFindingStore::new(dynamo(&[&refused]), "findings");
    let err = store.claim_alert(&claim(&ids)).await.unwrap_err();
    assert_eq!(err.retry, Retry::NonRetryable, "{err}");
    assert!(
        err.to_string().contains("findings"),
        "names the table: {err}"
    );
}

#[tokio::test]
async fn a_full_id_set_counts_in_overflow_and_keeps_the_holder() {
    let ids: Vec<String> = IDS.iter().map(|s| (*s).to_owned()).collect();
    // The set is at its cap: the conditional add is refused, the overflow add answers.
    let add = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.update_expression()
                .is_some_and(|e| e.contains("finding_ids"))
        })
        .then_http_response(|| error(400, "ConditionalCheckFailedException"));
    let overflow = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.update_expression() == Some("ADD overflow :n"))
        .then_output(|| {
            let held: Vec<String> = (0..2000).map(|i| format!("{i:032x}")).collect();
            UpdateItemOutput::builder()
                .set_attributes(Some(HashMap::from([
                    (
                        "first_finding_id".to_owned(),
                        AttributeValue::S(held[0].clone()),
                    ),
                    ("finding_ids".to_owned(), AttributeValue::Ss(held)),
                    ("overflow".to_owned(), AttributeValue::N("7".to_owned())),
                ])))
                .build()
        });
    let repeats = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.update_expression() == Some("SET repeats = :r"))
        .then_output(|| UpdateItemOutput::builder().build());
    let store = DynamoFindingStore::new(dynamo(&[&add, &overflow, &repeats]), "findings");
    let holder = store.claim_alert(&claim(&ids)).await.unwrap();
    assert_eq!(holder.first_finding_id, format!("{:032x}", 0));
    assert_eq!(holder.repeats, 2000 + 7 - 1);
    assert_eq!(
        (add.num_calls(), overflow.num_calls(), repeats.num_calls()),
        (1, 1, 1)
    );
}
