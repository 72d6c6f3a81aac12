//! The real handler, invoked with real-shaped S3 and SQS events, against moto's
//! S3, DynamoDB, SNS and SQS. Skipped with a message when `TRAILHOUND_MOTO_ENDPOINT`
//! is unset (scripts/test.sh sets it).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_sdk_dynamodb::types::AttributeValue;
use cloudtrail_ingest::{AwsIngest, Config};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use trailhound_aws::signing::{store_test_key, test_key};
use trailhound_aws::testing::{
    FilteredQueue, merge, moto_config, moto_endpoint, simulate, stop_logging_file, stored_findings,
    train, unique_name,
};
use trailhound_aws::{Clients, dynamo::create_table, push_model};
use trailhound_core::Severity;
use trailhound_core::models::artifact::Model;
use trailhound_core::pipeline::{Ports, run_object};
use trailhound_core::ports::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource, ObjectRef,
};

const MODEL_KEY: &str = "models/cloudtrail/model.bin";
const LOG_KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1010Z_Zb3cRq8mN2pLx7Yt.json.gz";

/// A simulated day (with every attack scenario) as one log file, and a model
/// trained on it; built once per test binary (slow in debug builds).
fn data() -> &'static (Vec<u8>, Model) {
    static DATA: OnceLock<(Vec<u8>, Model)> = OnceLock::new();
    DATA.get_or_init(|| {
        let sim = simulate(21, 1, 3_000).unwrap();
        let model = train(&sim.objects).unwrap();
        let all: Vec<_> = sim.objects.iter().collect();
        (merge(&all).unwrap(), model)
    })
}

/// Everything one test needs, with names no other test uses.
struct Env {
    clients: Clients,
    sqs: aws_sdk_sqs::Client,
    trail: String,
    models: String,
    config: Config,
    /// A subscriber with the email subscription's filter policy (HIGH, CRITICAL).
    high_queue: FilteredQueue,
}

async fn env(test: &str, refresh_seconds: u64) -> Option<Env> {
    let endpoint = moto_endpoint(test)?;
    let sdk = moto_config(&endpoint).await;
    let clients = Clients::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (trail, models, table) = (
        unique_name("th-trail"),
        unique_name("th-models"),
        unique_name("th-findings"),
    );
    for b in [&trail, &models] {
        clients.s3.create_bucket().bucket(b).send().await.unwrap();
    }
    create_table(&clients.dynamodb, &table).await.unwrap();
    let topic = clients
        .sns
        .create_topic()
        .name(unique_name("th-alerts"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    let high_queue = FilteredQueue::subscribe(
        &clients.sns,
        &sqs,
        &topic_arn,
        r#"{"severity":["HIGH","CRITICAL"]}"#,
    )
    .await
    .unwrap();
    let vars = [
        ("FINDINGS_TABLE", table.clone()),
        ("ALERTS_TOPIC_ARN", topic_arn),
        ("MODEL_BUCKET", models.clone()),
        ("MODEL_REFRESH_SECONDS", refresh_seconds.to_string()),
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
        sqs,
        trail,
        models,
        config,
        high_queue,
    })
}

impl Env {
    fn ingest(&self) -> AwsIngest {
        AwsIngest::on_aws(&self.config, &self.clients, &self.sqs)
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.clients
            .s3
            .put_object()
            .bucket(&self.trail)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    async fn push_model(&self, model: &Model) {
        push_model(
            &self.clients.s3,
            &self.models,
            MODEL_KEY,
            model.to_bytes().unwrap(),
            &test_key(),
        )
        .await
        .unwrap();
    }

    /// Finding ids in the table.
    async fn stored(&self) -> BTreeSet<String> {
        stored_findings(&self.clients.dynamodb, &self.config.ingest.findings_table)
            .await
            .unwrap()
            .into_iter()
            .map(|(f, _)| f.finding_id)
            .collect()
    }

    async fn summary(
        &self,
        key: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        let out = self
            .clients
            .dynamodb
            .get_item()
            .table_name(&self.config.ingest.findings_table)
            .key(
                "pk",
                AttributeValue::S(format!("OBJECT#{}/{key}", self.trail)),
            )
            .key("sk", AttributeValue::S("SUMMARY".into()))
            .send()
            .await
            .unwrap();
        out.item().cloned()
    }

    /// Alerts delivered to the HIGH/CRITICAL queue since the last call, as
    /// (severity attribute, finding id).
    async fn drain_alerts(&self) -> Vec<(String, String)> {
        self.high_queue
            .drain()
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.attributes["severity"].clone(),
                    d.message["finding_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// A fixture with its bucket and key replaced.
    fn s3_event(&self, key: &str) -> Value {
        let mut event = fixture("s3-put.json");
        event["Records"][0]["s3"]["bucket"]["name"] = json!(self.trail);
        event["Records"][0]["s3"]["object"]["key"] = json!(key);
        event
    }

    /// The SQS fixture's two messages pointed at `keys` (more messages are added by
    /// copying the first), plus whatever raw bodies `extra` holds.
    fn sqs_event(&self, keys: &[&str]) -> Value {
        let mut event = fixture("sqs-s3-put.json");
        let template = event["Records"][0].clone();
        let mut records = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let mut r = event["Records"]
                .get(i)
                .cloned()
                .unwrap_or_else(|| template.clone());
            r["messageId"] = json!(format!("msg-{i}"));
            let mut body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["Records"][0]["s3"]["bucket"]["name"] = json!(self.trail);
            body["Records"][0]["s3"]["object"]["key"] = json!(key);
            r["body"] = json!(body.to_string());
            records.push(r);
        }
        event["Records"] = json!(records);
        event
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn invoke(
    ingest: &AwsIngest,
    event: Value,
) -> Result<Value, cloudtrail_ingest::HandlerError> {
    ingest
        .handle(LambdaEvent::new(event, Context::default()))
        .await
}

fn key(n: usize) -> String {
    LOG_KEY.replace("Zb3cRq8mN2pLx7Yt", &format!("Obj{n:04}"))
}

#[tokio::test]
async fn an_s3_notification_stores_findings_and_alerts_matching_subscribers_once() {
    let Some(env) = env("an_s3_notification_stores_findings", 300).await else {
        return;
    };
    let (body, model) = data();
    env.push_model(model).await;
    env.put(LOG_KEY, body.clone()).await;

    // What the pipeline finds with the same model, on in-memory ports.
    let object = ObjectRef {
        bucket: env.trail.clone(),
        key: LOG_KEY.to_owned(),
    };
    let (objects, memory, sink) = (
        InMemoryObjectSource::default(),
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    objects.insert(object.clone(), body.clone());
    let models = InMemoryModelSource {
        model: Some(Arc::new(model.clone())),
    };
    let ports = Ports {
        objects: &objects,
        models: &models,
        findings: &memory,
        alerts: &sink,
        profiles: &trailhound_core::ports::NoProfiles,
    };
    // A rule set of its own: threshold counts are state, and the handler below
    // must start from zero as a cold start does.
    let mut reference = env.config.pipeline();
    reference.rules = Some(Arc::new(
        trailhound_core::rules::sigma::RuleSet::builder()
            .builtin()
            .build()
            .0,
    ));
    let expected = run_object(&object, &ports, &reference).await.unwrap();

    let want_ids: BTreeSet<String> = expected
        .findings
        .iter()
        .map(|f| f.finding_id.clone())
        .collect();
    let mut want_alerts: Vec<(String, String)> = sink
        .sent()
        .iter()
        .filter(|f| f.severity >= Some(Severity::High))
        .map(|f| {
            (
                f.severity.unwrap().as_upper().to_owned(),
                f.finding_id.clone(),
            )
        })
        .collect();
    want_alerts.sort();
    assert!(
        !want_alerts.is_empty(),
        "the simulated attacks must raise high or critical findings"
    );
    eprintln!(
        "{} findings, {} alerts due, {} high or critical",
        want_ids.len(),
        sink.sent().len(),
        want_alerts.len()
    );

    let ingest = env.ingest();
    invoke(&ingest, env.s3_event(LOG_KEY)).await.unwrap();
    assert_eq!(env.stored().await, want_ids);
    let mut alerts = env.drain_alerts().await;
    alerts.sort();
    assert_eq!(
        alerts, want_alerts,
        "only HIGH and CRITICAL alerts reach the filtered queue"
    );
    let summary = env.summary(LOG_KEY).await.expect("summary item");
    assert_eq!(summary["model_version"].as_s().unwrap(), model.version());
    assert_eq!(
        summary["records"].as_n().unwrap(),
        &expected.summary.records.to_string()
    );

    // The same notification again (an S3 retry or a replay): nothing new.
    invoke(&ingest, env.s3_event(LOG_KEY)).await.unwrap();
    assert_eq!(env.stored().await, want_ids);
    assert!(env.drain_alerts().await.is_empty(), "no duplicate alerts");
}

#[tokio::test]
async fn an_sqs_batch_reports_only_the_corrupt_object_as_failed() {
    let Some(env) = env("an_sqs_batch_reports_only_the_corrupt_object", 300).await else {
        return;
    };
    env.put(&key(1), stop_logging_file("sqs-a", 3).unwrap())
        .await;
    env.put(&key(2), stop_logging_file("sqs-b", 3).unwrap())
        .await;
    env.put(&key(3), b"\x1f\x8b\x08\x00 this is not gzip".to_vec())
        .await;
    let mut event = env.sqs_event(&[&key(1), &key(3), &key(2)]);
    // An s3:TestEvent in the same batch is not a failure.
    let test_event = fixture("sqs-s3-test-event.json")["Records"][0].clone();
    event["Records"].as_array_mut().unwrap().push(test_event);

    let ingest = env.ingest();
    let response = invoke(&ingest, event.clone()).await.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]})
    );
    assert_eq!(
        env.stored().await.len(),
        2,
        "both good objects stored their StopLogging finding"
    );
    // Both are mallory's StopLogging within the deduplication window: one alert,
    // the other finding stored and counted on it.
    assert_eq!(env.drain_alerts().await.len(), 1);
    assert!(env.summary(&key(1)).await.is_some() && env.summary(&key(3)).await.is_none());

    // Lambda redelivers the failed message; the good ones were deleted, but a
    // replay of the whole batch must not duplicate anything either.
    let response = invoke(&ingest, event).await.unwrap();
    assert_eq!(response["batchItemFailures"].as_array().unwrap().len(), 1);
    assert_eq!(env.stored().await.len(), 2);
    assert!(env.drain_alerts().await.is_empty());
}

#[tokio::test]
async fn encoded_keys_digests_and_test_events_are_handled() {
    let Some(env) = env("encoded_keys_digests_and_test_events", 300).await else {
        return;
    };
    let ingest = env.ingest();
    // The fixture's key is form-encoded: `+` is a space, `%2B` a plus.
    let decoded = "org trail/AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1015Z_Pq7rSt2uVw3xYz4A+b.json.gz";
    env.put(decoded, stop_logging_file("encoded", 1).unwrap())
        .await;
    let mut event = fixture("s3-put-encoded-key.json");
    event["Records"][0]["s3"]["bucket"]["name"] = json!(env.trail);
    invoke(&ingest, event).await.unwrap();
    assert!(
        env.summary(decoded).await.is_some(),
        "the decoded key was processed"
    );

    let digest = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/04/123456789012_CloudTrail-Digest_us-east-1_management_us-east-1_20240304T110000Z.json.gz";
    invoke(&ingest, env.s3_event(digest)).await.unwrap();
    assert!(
        env.summary(digest).await.is_none(),
        "digests are skipped without reading"
    );

    let response = invoke(&ingest, fixture("sqs-s3-test-event.json"))
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    // A direct notification for a missing object fails the invocation (Lambda retries).
    let err = invoke(&ingest, env.s3_event(&key(9))).await.unwrap_err();
    assert!(err.to_string().contains(&key(9)), "{err}");
}

#[tokio::test]
async fn a_new_model_is_picked_up_after_the_refresh_interval() {
    let Some(env) = env("a_new_model_is_picked_up", 0).await else {
        return;
    };
    let ingest = env.ingest();
    env.put(&key(1), stop_logging_file("model-1", 2).unwrap())
        .await;
    invoke(&ingest, env.s3_event(&key(1))).await.unwrap();
    let version = |s: std::collections::HashMap<String, AttributeValue>| {
        s["model_version"].as_s().unwrap().clone()
    };
    assert_eq!(
        version(env.summary(&key(1)).await.unwrap()),
        "none",
        "no model: rules only"
    );
    assert_eq!(
        env.stored().await.len(),
        1,
        "the StopLogging rule still fires"
    );

    let (_, model) = data();
    env.push_model(model).await;
    env.put(&key(2), stop_logging_file("model-2", 2).unwrap())
        .await;
    invoke(&ingest, env.s3_event(&key(2))).await.unwrap();
    assert_eq!(
        version(env.summary(&key(2)).await.unwrap()),
        model.version()
    );

    let mut next = model.clone();
    next.version = "cloudtrail-feedbeef".into();
    env.push_model(&next).await;
    env.put(&key(3), stop_logging_file("model-3", 2).unwrap())
        .await;
    invoke(&ingest, env.s3_event(&key(3))).await.unwrap();
    assert_eq!(
        version(env.summary(&key(3)).await.unwrap()),
        "cloudtrail-feedbeef"
    );

    // A model that fails its checks is refused; the last good one stays in use.
    env.clients
        .s3
        .put_object()
        .bucket(&env.models)
        .key(MODEL_KEY)
        .body(b"THMODEL\0junk".to_vec().into())
        .send()
        .await
        .unwrap();
    env.put(&key(4), stop_logging_file("model-4", 2).unwrap())
        .await;
    invoke(&ingest, env.s3_event(&key(4))).await.unwrap();
    assert_eq!(
        version(env.summary(&key(4)).await.unwrap()),
        "cloudtrail-feedbeef"
    );
}
