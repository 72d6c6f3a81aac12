//! Helpers for tests of this crate and of the functions (feature `test-util`):
//! reaching moto's server, unique resource names, and simulated CloudTrail objects
//! with a model trained on them.
//!
//! Moto tests call [`moto_endpoint`] first: without `TRAILHOUND_MOTO_ENDPOINT` they
//! print a skip line and return, unless `CI` is set, where a missing emulator is a
//! failure (a green CI must have run them).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use trailhound_core::decode::Limits;
use trailhound_core::models::artifact::Model;
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::sources::cloudtrail::CtBatch;
use trailhound_simulate::cloudtrail::{Label, SimConfig, SimError, SimObject, generate};

/// The moto endpoint, or `None` (after printing why) when the test should skip.
///
/// # Panics
/// When `CI` is set and the endpoint is not: CI must run the emulator tests.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("TRAILHOUND_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if std::env::var_os("CI").is_some() => {
            #[expect(
                clippy::panic,
                reason = "a CI run without the emulator must fail, not pass"
            )]
            {
                panic!(
                    "{test}: TRAILHOUND_MOTO_ENDPOINT is not set but CI is; run the tests through scripts/test.sh"
                )
            }
        }
        _ => {
            eprintln!(
                "skipped {test}: TRAILHOUND_MOTO_ENDPOINT is not set (scripts/test.sh starts moto)"
            );
            None
        }
    }
}

/// An SDK configuration for moto at `endpoint`: dummy static credentials, us-east-1.
pub async fn moto_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test (or earlier run against the same moto) uses: lower case,
/// valid for buckets, tables, topics and queues.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// Simulated CloudTrail log files (digests left out) and the ids of attack events.
#[derive(Debug, Clone)]
pub struct SimData {
    /// Log files in delivery order.
    pub objects: Vec<SimObject>,
    /// `eventID`s labelled as attacks.
    pub attack_events: Vec<String>,
}

/// Simulates `days` days of one account (123456789012) with every scenario.
pub fn simulate(seed: u64, days: u32, events_per_day: u32) -> Result<SimData, SimError> {
    let cfg = SimConfig {
        seed,
        days,
        events_per_day,
        digests: false,
        ..SimConfig::default()
    };
    let mut objects = Vec::new();
    let mut attack_events = Vec::new();
    generate::<SimError>(
        &cfg,
        |o| {
            objects.push(o);
            Ok(())
        },
        |l: Label| {
            if l.label == 1 {
                attack_events.push(l.event_id);
            }
            Ok(())
        },
    )?;
    Ok(SimData {
        objects,
        attack_events,
    })
}

/// Trains a small model (50 trees) on the objects' events.
pub fn train(objects: &[SimObject]) -> Result<Model, Box<dyn std::error::Error>> {
    let params = IsolationForestParams {
        n_trees: 50,
        ..IsolationForestParams::default()
    };
    let limits = Limits::default();
    let batches = || {
        objects
            .iter()
            .filter_map(move |o| CtBatch::read(o.body.as_slice(), &limits).ok())
    };
    Ok(trailhound_core::models::train::train_cloudtrail(
        batches, &params,
    )?)
}

/// One gzipped CloudTrail log file holding every record of `objects`, in order: a
/// bigger file than the simulator writes (which splits per region and 5 minutes).
pub fn merge(objects: &[&SimObject]) -> std::io::Result<Vec<u8>> {
    let mut records: Vec<Value> = Vec::new();
    for o in objects {
        let mut json = Vec::new();
        MultiGzDecoder::new(o.body.as_slice()).read_to_end(&mut json)?;
        let mut doc: Value = serde_json::from_slice(&json)?;
        if let Some(Value::Array(r)) = doc.get_mut("Records") {
            records.append(r);
        }
    }
    gzip(&serde_json::to_vec(
        &serde_json::json!({ "Records": records }),
    )?)
}

/// Gzips bytes, as CloudTrail stores its files.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// A small gzipped CloudTrail log file: `benign` `DescribeInstances` calls and one
/// `StopLogging` by `mallory` (a critical rule finding even without a model). Event
/// ids derive from `tag`, so different tags give different findings.
pub fn stop_logging_file(tag: &str, benign: usize) -> std::io::Result<Vec<u8>> {
    let record = |i: usize, name: &str, source: &str, user: &str| {
        serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEUSERID1234",
                "arn": format!("arn:aws:iam::123456789012:user/{user}"),
                "accountId": "123456789012",
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "userName": user
            },
            "eventTime": format!("2024-03-04T10:05:{:02}Z", i % 60),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2",
            "requestParameters": null,
            "responseElements": null,
            "requestID": format!("{tag}-req-{i}"),
            "eventID": format!("{tag}-evt-{i}"),
            "readOnly": name.starts_with("Describe"),
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        })
    };
    let mut records: Vec<Value> = (0..benign)
        .map(|i| record(i, "DescribeInstances", "ec2.amazonaws.com", "deploy"))
        .collect();
    records.push(record(
        benign,
        "StopLogging",
        "cloudtrail.amazonaws.com",
        "mallory",
    ));
    gzip(&serde_json::to_vec(
        &serde_json::json!({ "Records": records }),
    )?)
}

/// An SQS queue subscribed to an SNS topic with a filter policy, as the deployed
/// Slack and email subscriptions are: what reaches it is what a subscriber with
/// that policy would get.
#[derive(Debug, Clone)]
pub struct FilteredQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

/// One SNS notification taken from a [`FilteredQueue`].
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Message attributes by name (their string values).
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The `Message` field: the finding JSON.
    pub message: Value,
}

impl FilteredQueue {
    /// Creates a queue and subscribes it to `topic_arn` with `filter_policy` (JSON).
    pub async fn subscribe(
        sns: &aws_sdk_sns::Client,
        sqs: &aws_sdk_sqs::Client,
        topic_arn: &str,
        filter_policy: &str,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let url = sqs
            .create_queue()
            .queue_name(unique_name("th-queue"))
            .send()
            .await?
            .queue_url()
            .ok_or("no queue url")?
            .to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .ok_or("no queue arn")?
            .clone();
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("FilterPolicy", filter_policy)
            .send()
            .await?;
        Ok(Self {
            sqs: sqs.clone(),
            url,
        })
    }

    /// Every notification delivered since the last call (deleted from the queue).
    pub async fn drain(&self) -> Result<Vec<Delivered>, Box<dyn std::error::Error + Send + Sync>> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await?;
            if got.messages().is_empty() {
                return Ok(out);
            }
            for m in got.messages() {
                let envelope: Value = serde_json::from_str(m.body().unwrap_or("null"))?;
                let message: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or("null"))?;
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v["Value"].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Delivered {
                    attributes,
                    message,
                });
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
            }
        }
    }
}

/// Every finding item of a findings table, read back through the store's own item
/// format, with whether it was alerted.
pub async fn stored_findings(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<(trailhound_core::Finding, bool)>, Box<dyn std::error::Error + Send + Sync>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let out = dynamodb
            .scan()
            .table_name(table)
            .filter_expression("sk = :f")
            .expression_attribute_values(":f", AttributeValue::S("FINDING".into()))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items() {
            found.push(crate::dynamo::finding_from_item(item)?);
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(found);
        }
    }
}

/// A gzipped CloudTrail log file of `members × 1000` benign records that is slow to
/// parse but small to store and send: one gzip member of 1000 records repeated
/// (CloudTrail readers take concatenated members as one stream). 200 members are
/// about 120 MB of JSON in 1.5 MB.
pub fn slow_file(members: usize) -> std::io::Result<Vec<u8>> {
    let records: Vec<String> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "AssumedRole",
                    "arn": "arn:aws:sts::123456789012:assumed-role/app/i-0abc",
                    "accountId": "123456789012"
                },
                "eventTime": format!("2024-03-04T10:{:02}:{:02}Z", (i / 60) % 60, i % 60),
                "eventSource": "ec2.amazonaws.com",
                "eventName": "DescribeInstances",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "aws-sdk-go/1.44.0",
                "requestParameters": {"maxResults": 100},
                "responseElements": null,
                "requestID": format!("slow-req-{i}"),
                "eventID": format!("slow-evt-{i}"),
                "readOnly": true,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "123456789012"
            })
            .to_string()
        })
        .collect();
    let chunk = records.join(",");
    let mut out = gzip(format!("{{\"Records\":[{chunk}").as_bytes())?;
    let middle = gzip(format!(",{chunk}").as_bytes())?;
    for _ in 1..members {
        out.extend_from_slice(&middle);
    }
    out.extend(gzip(b"]}")?);
    Ok(out)
}
