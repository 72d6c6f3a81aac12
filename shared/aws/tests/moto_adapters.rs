//! The adapters against moto's server (happy paths and idempotency). Started by
//! `scripts/test.sh`; skipped with a message when `TRAILHOUND_MOTO_ENDPOINT` is unset.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use trailhound_aws::dynamo::{GSI_BY_SEVERITY_TIME, create_table};
use trailhound_aws::signing::test_key;
use trailhound_aws::testing::{moto_config, moto_endpoint, simulate, train, unique_name};
use trailhound_aws::{
    Clients, DynamoFindingStore, S3ModelSource, S3ObjectSource, SigningKeySource, SnsAlertSink,
    list_objects, push_model,
};
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::{
    AlertSink, FindingStore, ModelSource, ObjectRef, ObjectSource, ObjectSummary, Retry,
    StoreOutcome,
};
use trailhound_core::{Detection, Finding, Severity};

async fn clients(test: &str) -> Option<Clients> {
    let endpoint = moto_endpoint(test)?;
    Some(Clients::new(&moto_config(&endpoint).await))
}

async fn bucket(c: &Clients) -> String {
    let name = unique_name("th-bucket");
    c.s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

/// A small trained model, shared by the tests of this binary (training is slow in
/// debug builds).
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let sim = simulate(11, 1, 2_000).unwrap();
        train(&sim.objects).unwrap()
    })
}

fn finding(i: usize, severity: Severity) -> Finding {
    let event_id = format!("5f4d6c1e-0000-4000-8000-{i:012}");
    Finding {
        finding_id: trailhound_core::finding::finding_id("cloudtrail", &event_id),
        event_id,
        source: "cloudtrail".into(),
        time: format!("2024-03-04T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        principal: "arn:aws:iam::123456789012:user/mallory".into(),
        action: "cloudtrail.amazonaws.com:StopLogging".into(),
        score: 0.7,
        severity: Some(severity),
        severity_score: severity.floor() + 0.5,
        detections: vec![Detection {
            id: "ct.logging.stop_logging".into(),
            technique: Some("T1562.008".into()),
        }],
        reasons: vec!["CloudTrail logging was stopped".into()],
        model_version: "none".into(),
        triage: Default::default(),
    }
}

#[tokio::test]
async fn s3_source_reads_objects_and_refuses_missing_or_oversized_ones() {
    let Some(c) = clients("s3_source_reads_objects").await else {
        return;
    };
    let b = bucket(&c).await;
    c.s3.put_object()
        .bucket(&b)
        .key("a b/x.json")
        .body(b"{\"Records\":[]}".to_vec().into())
        .send()
        .await
        .unwrap();
    let src = S3ObjectSource::new(c.s3.clone(), 1024);
    let obj = ObjectRef {
        bucket: b.clone(),
        key: "a b/x.json".into(),
    };
    let mut body = String::new();
    std::io::Read::read_to_string(&mut src.fetch(&obj).await.unwrap(), &mut body).unwrap();
    assert_eq!(body, "{\"Records\":[]}");

    let missing = ObjectRef {
        bucket: b.clone(),
        key: "nope.json".into(),
    };
    let err = src.fetch(&missing).await.err().unwrap();
    assert_eq!(err.retry, Retry::NonRetryable, "{err}");
    assert!(
        err.message.contains(&b) && err.message.contains("nope.json"),
        "{err}"
    );

    let small = S3ObjectSource::new(c.s3.clone(), 4);
    let err = small.fetch(&obj).await.err().unwrap();
    assert_eq!(err.retry, Retry::NonRetryable);
    assert!(err.message.contains("cap"), "{err}");
}

#[tokio::test]
async fn list_objects_returns_every_key_under_a_prefix() {
    let Some(c) = clients("list_objects_returns_every_key").await else {
        return;
    };
    let b = bucket(&c).await;
    for key in [
        "AWSLogs/1.json.gz",
        "AWSLogs/2.json.gz",
        "AWSLogs/",
        "other/3.json.gz",
    ] {
        c.s3.put_object()
            .bucket(&b)
            .key(key)
            .body(Vec::new().into())
            .send()
            .await
            .unwrap();
    }
    let mut keys: Vec<String> = list_objects(&c.s3, &b, "AWSLogs/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    keys.sort();
    assert_eq!(keys, ["AWSLogs/1.json.gz", "AWSLogs/2.json.gz"]);
}

#[tokio::test]
async fn model_source_revalidates_by_etag_and_keeps_the_last_good_model() {
    let Some(c) = clients("model_source_revalidates").await else {
        return;
    };
    let b = bucket(&c).await;
    let key = "models/cloudtrail/model.bin";
    let src = S3ModelSource::new(c.s3.clone(), &b, key, Duration::ZERO)
        .with_signing_key(SigningKeySource::Fixed(Arc::new(test_key())));
    assert!(src.current().await.unwrap().is_none(), "no model yet");

    let pushed = push_model(&c.s3, &b, key, model().to_bytes().unwrap(), &test_key())
        .await
        .unwrap();
    assert_eq!(pushed.version, model().version());
    let first = src.current().await.unwrap().expect("model loaded");
    assert_eq!(first.version(), model().version());
    let again = src.current().await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "an unchanged ETag must not reload the model"
    );

    c.s3.put_object()
        .bucket(&b)
        .key(key)
        .body(b"not a model".to_vec().into())
        .send()
        .await
        .unwrap();
    let kept = src.current().await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first, &kept),
        "a refused model must keep the previous one"
    );

    let mut second = model().clone();
    second.version = "cloudtrail-00000002".into();
    push_model(&c.s3, &b, key, second.to_bytes().unwrap(), &test_key())
        .await
        .unwrap();
    assert_eq!(
        src.current().await.unwrap().unwrap().version(),
        "cloudtrail-00000002"
    );

    c.s3.delete_object()
        .bucket(&b)
        .key(key)
        .send()
        .await
        .unwrap();
    assert!(
        src.current().await.unwrap().is_none(),
        "a deleted model means rules only"
    );

    let err = push_model(&c.s3, &b, key, b"garbage".to_vec(), &test_key())
        .await
        .unwrap_err();
    assert_eq!(err.retry, Retry::NonRetryable);
}

#[tokio::test]
async fn model_source_waits_for_the_refresh_interval() {
    let Some(c) = clients("model_source_waits").await else {
        return;
    };
    let b = bucket(&c).await;
    let key = "models/cloudtrail/model.bin";
    push_model(&c.s3, &b, key, model().to_bytes().unwrap(), &test_key())
        .await
        .unwrap();
    let src = S3ModelSource::new(c.s3.clone(), &b, key, Duration::from_secs(3600))
        .with_signing_key(SigningKeySource::Fixed(Arc::new(test_key())));
    let first = src.current().await.unwrap().unwrap();
    let mut second = model().clone();
    second.version = "cloudtrail-00000003".into();
    push_model(&c.s3, &b, key, second.to_bytes().unwrap(), &test_key())
        .await
        .unwrap();
    let cached = src.current().await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first, &cached),
        "revalidated before the interval"
    );
}

async fn store(c: &Clients) -> DynamoFindingStore {
    let table = unique_name("th-findings");
    create_table(&c.dynamodb, &table).await.unwrap();
    DynamoFindingStore::new(c.dynamodb.clone(), table)
}

#[tokio::test]
async fn store_writes_each_finding_once_and_remembers_alerts() {
    let Some(c) = clients("store_writes_each_finding_once").await else {
        return;
    };
    let store = store(&c).await;
    // 130 findings: two transactions and two BatchGetItem calls.
    let findings: Vec<Finding> = (0..130).map(|i| finding(i, Severity::High)).collect();
    let first = store.put_findings(&findings).await.unwrap();
    assert!(first.iter().all(|o| *o == StoreOutcome::New), "{first:?}");

    let again = store.put_findings(&findings).await.unwrap();
    assert!(
        again.iter().all(|o| *o == StoreOutcome::Unalerted),
        "{again:?}"
    );

    let alerted: Vec<String> = findings[..10]
        .iter()
        .map(|f| f.finding_id.clone())
        .collect();
    store.mark_alerted(&alerted).await.unwrap();
    let third = store.put_findings(&findings).await.unwrap();
    assert!(third[..10].iter().all(|o| *o == StoreOutcome::Alerted));
    assert!(third[10..].iter().all(|o| *o == StoreOutcome::Unalerted));

    let (back, was_alerted) = store
        .get_finding(&findings[0].finding_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, findings[0]);
    assert!(was_alerted);
    // Marking a finding that is not stored is not an error.
    store.mark_alerted(&["0000".to_owned()]).await.unwrap();
}

#[tokio::test]
async fn store_handles_a_finding_repeated_in_one_batch() {
    let Some(c) = clients("store_handles_a_finding_repeated").await else {
        return;
    };
    let store = store(&c).await;
    let f = finding(1, Severity::Critical);
    let out = store
        .put_findings(&[f.clone(), finding(2, Severity::Low), f])
        .await
        .unwrap();
    assert_eq!(
        out,
        [StoreOutcome::New, StoreOutcome::New, StoreOutcome::Alerted]
    );
}

#[tokio::test]
async fn findings_are_listed_by_severity_and_time_through_the_gsi() {
    let Some(c) = clients("findings_are_listed_by_severity").await else {
        return;
    };
    let store = store(&c).await;
    let findings = [
        finding(3, Severity::High),
        finding(1, Severity::High),
        finding(2, Severity::Low),
    ];
    store.put_findings(&findings).await.unwrap();
    let out = c
        .dynamodb
        .query()
        .table_name(store.table())
        .index_name(GSI_BY_SEVERITY_TIME)
        .key_condition_expression("gsi1pk = :s AND gsi1sk >= :t")
        .expression_attribute_values(":s", AttributeValue::S("HIGH".into()))
        .expression_attribute_values(":t", AttributeValue::S("2024-03-04T10:00:00Z".into()))
        .send()
        .await
        .unwrap();
    let times: Vec<&str> = out
        .items()
        .iter()
        .map(|i| i["time"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(times, ["2024-03-04T10:00:01Z", "2024-03-04T10:00:03Z"]);
    let ttl: i64 = out.items()[0]["expires_at"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!(
        (ttl - now - 90 * 86_400).abs() < 600,
        "TTL {ttl} is not 90 days out"
    );
}

#[tokio::test]
async fn summaries_are_stored_per_object() {
    let Some(c) = clients("summaries_are_stored_per_object").await else {
        return;
    };
    let store = store(&c).await;
    let summary = ObjectSummary {
        object: ObjectRef {
            bucket: "trail".into(),
            key: "AWSLogs/x.json.gz".into(),
        },
        source: "cloudtrail".into(),
        records: 20,
        skipped: 1,
        findings: [(Severity::Critical, 2)].into_iter().collect(),
        alerts: 2,
        suppressed: 0,
        deduplicated: 0,
        model_version: "cloudtrail-0a1b2c3d".into(),
        duration_ms: 12,
    };
    store.put_summary(&summary).await.unwrap();
    let item = c
        .dynamodb
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            AttributeValue::S("OBJECT#trail/AWSLogs/x.json.gz".into()),
        )
        .key("sk", AttributeValue::S("SUMMARY".into()))
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(item["records"].as_n().unwrap(), "20");
    assert_eq!(
        item["findings"].as_m().unwrap()["critical"].as_n().unwrap(),
        "2"
    );
    assert_eq!(item["model_version"].as_s().unwrap(), "cloudtrail-0a1b2c3d");
}

#[tokio::test]
async fn alerts_reach_only_subscriptions_whose_filter_matches() {
    let Some(c) = clients("alerts_reach_only_matching").await else {
        return;
    };
    let endpoint = moto_endpoint("alerts_reach_only_matching").unwrap();
    let sqs = aws_sdk_sqs::Client::new(&moto_config(&endpoint).await);
    let topic = c
        .sns
        .create_topic()
        .name(unique_name("th-alerts"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("th-high"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    c.sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("FilterPolicy", r#"{"severity":["HIGH","CRITICAL"]}"#)
        .send()
        .await
        .unwrap();

    let sink = SnsAlertSink::new(c.sns.clone(), &topic_arn);
    let high = finding(1, Severity::High);
    sink.publish(&finding(2, Severity::Low)).await.unwrap();
    sink.publish(&finding(3, Severity::Medium)).await.unwrap();
    sink.publish(&high).await.unwrap();

    let got = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = got.messages();
    assert_eq!(messages.len(), 1, "only the HIGH alert passes the filter");
    let envelope: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(
        envelope["Subject"],
        "[HIGH] cloudtrail.amazonaws.com:StopLogging by mallory"
    );
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "HIGH");
    assert_eq!(
        envelope["MessageAttributes"]["severity_score"]["Type"],
        "Number"
    );
    assert_eq!(
        envelope["MessageAttributes"]["detection"]["Value"],
        "ct.logging.stop_logging"
    );
    assert_eq!(
        envelope["MessageAttributes"]["account"]["Value"],
        "123456789012"
    );
    let body: Finding = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body, high);
}
