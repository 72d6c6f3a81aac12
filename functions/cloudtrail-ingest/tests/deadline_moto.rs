//! The invocation deadline and the dead-letter queue, with the real handler against
//! moto's S3, DynamoDB, SNS and SQS: one object that would outlast the function
//! fails only its own message, messages not started are reported for a retry, and
//! a message that can never succeed goes to the dead-letter queue once. Skipped
//! with a message when `TRAILHOUND_MOTO_ENDPOINT` is unset.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use cloudtrail_ingest::{AwsIngest, Config};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trailhound_aws::testing::{
    moto_config, moto_endpoint, slow_file, stop_logging_file, stored_findings, unique_name,
};
use trailhound_aws::{Clients, dynamo::create_table};
use trailhound_core::pipeline::Margin;

const LOG_KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1010Z_Zb3cRq8mN2pLx7Yt.json.gz";

struct Env {
    clients: Clients,
    sqs: aws_sdk_sqs::Client,
    trail: String,
    config: Config,
}

async fn env(test: &str) -> Option<Env> {
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
    let vars = [
        ("FINDINGS_TABLE", table),
        ("ALERTS_TOPIC_ARN", topic.topic_arn().unwrap().to_owned()),
        ("MODEL_BUCKET", models),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Some(Env {
        clients,
        sqs,
        trail,
        config,
    })
}

impl Env {
    /// The handler with a test-sized margin (100 ms or 10 %).
    fn ingest(&self) -> AwsIngest {
        let mut ingest = AwsIngest::on_aws(&self.config, &self.clients, &self.sqs);
        ingest.margin = Margin {
            min: Duration::from_millis(100),
            fraction: 0.10,
        };
        ingest
    }

    async fn put(&self, key: &str, body: &[u8]) {
        self.clients
            .s3
            .put_object()
            .bucket(&self.trail)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    async fn summary(&self, key: &str) -> bool {
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
        out.item().is_some()
    }

    async fn stored(&self) -> usize {
        stored_findings(&self.clients.dynamodb, &self.config.ingest.findings_table)
            .await
            .unwrap()
            .len()
    }

    /// An SQS batch, message `msg-<i>` naming `objects[i]` (key and size, as S3
    /// declares it), or carrying a raw body when the key is empty.
    fn sqs_event(&self, objects: &[(&str, usize)]) -> Value {
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/fixtures/events/sqs-s3-put.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let template: Value =
            serde_json::from_str(fixture["Records"][0]["body"].as_str().unwrap()).unwrap();
        let records: Vec<Value> = objects
            .iter()
            .enumerate()
            .map(|(i, (key, size))| {
                let body = if key.is_empty() {
                    "this is not an S3 notification".to_owned()
                } else {
                    let mut body = template.clone();
                    let object = &mut body["Records"][0]["s3"];
                    object["bucket"]["name"] = json!(self.trail);
                    object["object"]["key"] = json!(key);
                    object["object"]["size"] = json!(size);
                    body.to_string()
                };
                json!({
                    "messageId": format!("msg-{i}"),
                    "receiptHandle": format!("handle-{i}"),
                    "body": body,
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1709547012345",
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": "1709547012346"
                    },
                    "messageAttributes": {},
                    "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailhound-cloudtrail",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        json!({ "Records": records })
    }

    async fn queue(&self) -> String {
        self.sqs
            .create_queue()
            .queue_name(unique_name("th-dlq"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    }
}

fn key(n: usize) -> String {
    LOG_KEY.replace("Zb3cRq8mN2pLx7Yt", &format!("Obj{n:04}"))
}

/// The handler invoked as Lambda would, with `ms` milliseconds left.
async fn invoke_with(ingest: &AwsIngest, event: Value, ms: u64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut context = Context::default();
    context.deadline = u64::try_from(now).unwrap() + ms;
    ingest
        .handle(LambdaEvent::new(event, context))
        .await
        .unwrap()
}

fn failed(response: &Value) -> Vec<String> {
    let mut ids: Vec<String> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_batch_of_ten_with_one_endless_object_completes_nine_and_reports_one_in_time() {
    let Some(env) = env("a_batch_of_ten_with_one_endless_object").await else {
        return;
    };
    // msg-0: ~120 MB of records (minutes to parse in a debug build), first in the batch.
    let slow = slow_file(200).unwrap();
    env.put(&key(0), &slow).await;
    let mut objects = vec![(key(0), slow.len())];
    for i in 1..10 {
        let body = stop_logging_file(&format!("batch-{i}"), 3).unwrap();
        env.put(&key(i), &body).await;
        objects.push((key(i), body.len()));
    }
    let named: Vec<(&str, usize)> = objects.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    let event = env.sqs_event(&named);

    let budget = Duration::from_secs(4);
    let ingest = env.ingest();
    let started = Instant::now();
    let response = invoke_with(&ingest, event, budget.as_millis() as u64).await;
    let took = started.elapsed();
    eprintln!(
        "batch of 10, one endless object: {:?} failed, took {} ms of a {} ms deadline",
        failed(&response),
        took.as_millis(),
        budget.as_millis()
    );
    assert_eq!(
        failed(&response),
        ["msg-0"],
        "only the endless object fails"
    );
    assert!(took < budget, "returned after the deadline: {took:?}");
    for (i, (k, _)) in objects.iter().enumerate().skip(1) {
        assert!(env.summary(k).await, "object {i} was processed");
    }
    assert!(
        !env.summary(&key(0)).await,
        "the endless object was abandoned"
    );
    assert_eq!(
        env.stored().await,
        9,
        "one StopLogging finding per good object"
    );
}

#[tokio::test]
async fn messages_not_started_before_the_deadline_are_reported_for_a_retry() {
    let Some(env) = env("messages_not_started_before_the_deadline").await else {
        return;
    };
    let body = stop_logging_file("late", 1).unwrap();
    env.put(&key(1), &body).await;
    env.put(&key(2), &body).await;
    let event = env.sqs_event(&[(&key(1), body.len()), (&key(2), body.len())]);
    // 50 ms left is inside the 100 ms margin: nothing may start.
    let response = invoke_with(&env.ingest(), event.clone(), 50).await;
    assert_eq!(failed(&response), ["msg-0", "msg-1"]);
    assert_eq!(env.stored().await, 0);
    // The redelivery, with time to spare, processes both.
    let response = invoke_with(&env.ingest(), event, 60_000).await;
    assert!(failed(&response).is_empty(), "{response}");
    assert!(env.summary(&key(1)).await && env.summary(&key(2)).await);
}

#[tokio::test]
async fn a_message_that_can_never_succeed_goes_to_the_dead_letter_queue_once() {
    let Some(mut env) = env("a_message_that_can_never_succeed").await else {
        return;
    };
    let dlq = env.queue().await;
    env.config.dead_letter_queue_url = Some(dlq.clone());
    let good = stop_logging_file("dlq-good", 2).unwrap();
    env.put(&key(1), &good).await;
    env.put(&key(2), b"\x1f\x8b\x08\x00 this is not gzip").await;
    let event = env.sqs_event(&[(&key(1), good.len()), (&key(2), 20), ("", 0)]);

    let response = invoke_with(&env.ingest(), event.clone(), 60_000).await;
    assert!(
        failed(&response).is_empty(),
        "dead-lettered messages are done: {response}"
    );
    assert!(env.summary(&key(1)).await, "the good object is unaffected");
    let got = env
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let mut letters: Vec<(String, String, String)> = got
        .messages()
        .iter()
        .map(|m| {
            let attr = |n: &str| {
                m.message_attributes()
                    .and_then(|a| a.get(n))
                    .and_then(|v| v.string_value())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                attr("SourceMessageId"),
                attr("ErrorMessage"),
                m.body().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    letters.sort();
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(letters[0].0, "msg-1");
    assert!(
        letters[0].1.contains(&key(2)),
        "the reason names the key: {}",
        letters[0].1
    );
    assert_eq!(
        letters[0].2,
        event["Records"][1]["body"].as_str().unwrap(),
        "the body is kept for a redrive"
    );
    assert_eq!(letters[1].0, "msg-2");
    assert!(
        letters[1].1.contains("not an S3 notification") || letters[1].1.contains("malformed"),
        "{}",
        letters[1].1
    );

    // An unreachable dead-letter queue: the redrive policy keeps the message.
    env.config.dead_letter_queue_url = Some(format!("{dlq}-missing"));
    let response = invoke_with(&env.ingest(), event, 60_000).await;
    assert_eq!(failed(&response), ["msg-1", "msg-2"]);
}
