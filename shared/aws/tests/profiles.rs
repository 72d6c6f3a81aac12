//! `DynamoProfileStore`: against moto's server (round trip, idempotent merges, two
//! concurrent writers on one profile) and with `aws-smithy-mocks` (a conditional
//! write that loses to another writer is re-read, merged and written again).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_s3::config::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trailhound_aws::DynamoProfileStore;
use trailhound_aws::profiles::{SORT_KEY, create_profiles_table};
use trailhound_aws::retry::Backoff;
use trailhound_aws::testing::{moto_config, moto_endpoint, unique_name};
use trailhound_core::baseline::{Profile, ProfileUpdate, day_of};
use trailhound_core::ports::ProfileStore;

/// The conditions and profiles of the puts a mock saw.
type Puts = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// Monday 2024-03-04T09:00:00Z.
const T0: i64 = 1_709_542_800;
const KEY: &str = "123456789012|arn:aws:iam::123456789012:role/deploy";

/// An update from object `origin` that saw `action` once at `t`.
fn update(origin: &str, action: &str, t: i64) -> ProfileUpdate {
    let mut seen = Profile::default();
    seen.record_time(t);
    seen.actions.insert(action, day_of(t));
    seen.networks.insert("198.51.100", day_of(t));
    ProfileUpdate {
        key: KEY.into(),
        origin: origin.into(),
        seen,
    }
}

async fn moto_store(test: &str) -> Option<(aws_sdk_dynamodb::Client, String)> {
    let endpoint = moto_endpoint(test)?;
    let client = aws_sdk_dynamodb::Client::new(&moto_config(&endpoint).await);
    let table = unique_name("th-profiles");
    create_profiles_table(&client, &table).await.unwrap();
    Some((client, table))
}

#[tokio::test]
async fn profiles_round_trip_and_repeated_updates_change_nothing() {
    let Some((client, table)) = moto_store("profiles_round_trip").await else {
        return;
    };
    let store = DynamoProfileStore::new(client.clone(), &table);
    let first = update("o1", "iam:CreateRole", T0);
    let second = update("o2", "iam:CreateAccessKey", T0 + 86_400);
    store
        .merge_profiles(std::slice::from_ref(&first))
        .await
        .unwrap();
    store
        .merge_profiles(std::slice::from_ref(&second))
        .await
        .unwrap();
    // A retried object: the same updates again.
    store.merge_profiles(&[first, second]).await.unwrap();
    let got = store
        .get_profiles(&[KEY.to_owned(), "123456789012|nobody".to_owned()])
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "a missing principal has no profile");
    let p = &got[KEY];
    assert_eq!(p.events, 2, "repeated updates are not counted again");
    assert_eq!(p.first_seen, T0);
    assert_eq!(p.last_seen, T0 + 86_400);
    assert!(p.actions.last_seen("iam:CreateRole").is_some());
    assert!(p.actions.last_seen("iam:CreateAccessKey").is_some());
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(KEY.into()))
        .key("sk", AttributeValue::S(SORT_KEY.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["version"],
        AttributeValue::N("2".into()),
        "one write per new update, none for the repeats"
    );
    assert!(matches!(item.get("expires_at"), Some(AttributeValue::N(_))));
}

// moto does not serialise writes to one item (its threads check a condition and
// write without a lock), so truly concurrent writers can both "win" there and a
// concurrent test flakes on the emulator, not on our code. The race itself (a
// conditional write lost to another writer, re-read, merged and retried) is tested
// deterministically with aws-smithy-mocks below; here two store instances take
// turns, each merging into what the other wrote.
#[tokio::test]
async fn two_writers_taking_turns_lose_no_entries() {
    let Some((client, table)) = moto_store("two_concurrent_writers").await else {
        return;
    };
    let backoff = Backoff {
        retries: 50,
        base: Duration::from_millis(2),
        max: Duration::from_millis(20),
    };
    let a = DynamoProfileStore::new(client.clone(), &table).with_backoff(backoff);
    let b = a.clone();
    const EACH: usize = 15;
    let writer = |store: DynamoProfileStore, name: &'static str| async move {
        for i in 0..EACH {
            let u = update(
                &format!("{name}-{i}"),
                &format!("svc:{name}{i:02}"),
                T0 + i as i64,
            );
            store.merge_profiles(&[u]).await.unwrap();
        }
    };
    writer(a.clone(), "a").await;
    writer(b, "b").await;
    let p = a
        .get_profiles(&[KEY.to_owned()])
        .await
        .unwrap()
        .remove(KEY)
        .unwrap();
    assert_eq!(p.events, 2 * EACH as u64, "every merge counted once");
    for name in ["a", "b"] {
        for i in 0..EACH {
            let action = format!("svc:{name}{i:02}");
            assert!(p.actions.last_seen(&action).is_some(), "{action} was lost");
        }
    }
}

#[tokio::test]
async fn a_lost_conditional_write_is_read_again_merged_and_retried() {
    // Our batch read finds no profile; another writer creates it (with `other`)
    // before our conditional put, which fails; we read it again and write version 2
    // holding both actions.
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_output(|| BatchGetItemOutput::builder().build());
    let theirs = update("theirs", "iam:CreateRole", T0);
    let stored = serde_json::to_string(&{
        let mut p = Profile::default();
        p.absorb(&theirs);
        p
    })
    .unwrap();
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(Some(HashMap::from([
                ("pk".to_owned(), AttributeValue::S(KEY.into())),
                ("sk".to_owned(), AttributeValue::S(SORT_KEY.into())),
                ("version".to_owned(), AttributeValue::N("1".into())),
                ("profile".to_owned(), AttributeValue::S(stored.clone())),
            ])))
            .build()
    });
    let puts: Puts = Arc::default();
    let seen = puts.clone();
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |req| {
            let expected = req
                .expression_attribute_values()
                .and_then(|v| v.get(":v"))
                .and_then(|v| v.as_n().ok())
                .cloned();
            let profile = req
                .item()
                .and_then(|i| i.get("profile"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            seen.lock().unwrap().push((expected, profile));
            true
        })
        .sequence()
        .error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .build(),
            )
        })
        .output(|| PutItemOutput::builder().build())
        .build();
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(&read)
                .with_rule(&get)
                .with_rule(&put),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    let store = DynamoProfileStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "profiles")
        .with_backoff(Backoff::immediate(3));
    store
        .merge_profiles(&[update("ours", "iam:CreateAccessKey", T0 + 60)])
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert_eq!(get.num_calls(), 1, "re-read once after the conflict");
    let puts = puts.lock().unwrap();
    assert_eq!(puts[0].0, None, "first write: the profile must not exist");
    assert_eq!(
        puts[1].0.as_deref(),
        Some("1"),
        "second write: on the version re-read"
    );
    let written: Profile = serde_json::from_str(&puts[1].1).unwrap();
    assert!(
        written.actions.last_seen("iam:CreateRole").is_some(),
        "theirs kept"
    );
    assert!(
        written.actions.last_seen("iam:CreateAccessKey").is_some(),
        "ours added"
    );
    assert_eq!(written.events, 2);
}

#[tokio::test]
async fn endless_conflicts_fail_retryable() {
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_output(|| BatchGetItemOutput::builder().build());
    let get =
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(&read)
                .with_rule(&get)
                .with_rule(&put),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    let store = DynamoProfileStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "profiles")
        .with_backoff(Backoff::immediate(2));
    let err = store
        .merge_profiles(&[update("ours", "iam:CreateAccessKey", T0)])
        .await
        .unwrap_err();
    assert_eq!(err.retry, trailhound_core::ports::Retry::Retryable, "{err}");
    assert!(err.message.contains("still conflicting"), "{err}");
    assert_eq!(put.num_calls(), 3, "first attempt and 2 retries");
}
