//! Benchmark of the handler against moto (not a test; prints numbers on stderr).
//!
//! ```text
//! bench prepare STATE EVENTS_PER_FILE FILES   # simulate, train, upload model and files
//! bench run STATE                              # S3 adapters on moto, counting store and sink
//! bench run-moto STATE                         # every adapter on moto
//! ```
//! `run` is meant to be started under `/usr/bin/time -v` for the peak RSS; it times
//! from its own start to the first event handled (model already in S3), then each
//! further object, then a replay of the first (everything already stored).
//!
//! `run` counts findings and alerts instead of storing them because moto's `TransactWriteItems`
//! snapshots its whole backend per call (seconds per call and gigabytes of memory
//! with a few hundred findings), which would measure the emulator, not the handler;
//! it prints how many findings and alerts each object produced instead.
#![expect(clippy::unwrap_used, reason = "a benchmark driver fails loudly")]

use cloudtrail_ingest::{AwsIngest, Config, Ingest};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use trailhound_aws::signing::{store_test_key, test_key};
use trailhound_aws::testing::{gzip, moto_config, simulate, train, unique_name};
use trailhound_aws::{
    Clients, S3ModelSource, S3ObjectSource, SigningKeySource, dynamo::create_table, push_model,
};
use trailhound_core::Finding;
use trailhound_core::ports::{
    AlertSink, FindingStore, ModelSource, ObjectSource, ObjectSummary, PortError, StoreOutcome,
};

/// Counts findings and reports each as new, keeping nothing: the handler's own
/// memory is what `run` measures.
#[derive(Default)]
struct CountingStore(AtomicUsize);

impl FindingStore for CountingStore {
    async fn put_findings(&self, findings: &[Finding]) -> Result<Vec<StoreOutcome>, PortError> {
        self.0.fetch_add(findings.len(), Ordering::Relaxed);
        Ok(vec![StoreOutcome::New; findings.len()])
    }
    async fn mark_alerted(&self, _: &[String]) -> Result<(), PortError> {
        Ok(())
    }
    async fn put_summary(&self, _: &ObjectSummary) -> Result<(), PortError> {
        Ok(())
    }
}

/// Counts alerts.
#[derive(Default)]
struct CountingSink(AtomicUsize);

impl AlertSink for CountingSink {
    async fn publish(&self, _: &Finding) -> Result<(), PortError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

const MODEL_KEY: &str = "models/cloudtrail/model.bin";

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    match args.get(1).map(String::as_str) {
        Some("prepare") => rt.block_on(prepare(
            &args[2],
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
        )),
        Some("run") => rt.block_on(run(&args[2], started, false)),
        Some("run-moto") => rt.block_on(run(&args[2], started, true)),
        _ => eprintln!(
            "usage: bench prepare STATE EVENTS_PER_FILE FILES | bench run STATE | bench run-moto STATE"
        ),
    }
}

fn endpoint() -> String {
    std::env::var("TRAILHOUND_MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5599".into())
}

async fn prepare(state: &str, per_file: usize, files: usize) {
    let t = Instant::now();
    // Day 1 trains the model; later days are scored, as in production.
    let events_per_day = u32::try_from(per_file * files).unwrap().max(20_000);
    let sim = simulate(5, 2, events_per_day).unwrap();
    let day2 = sim
        .objects
        .iter()
        .position(|o| o.key.contains("/2024/03/05/"))
        .unwrap();
    let model = train(&sim.objects[..day2]).unwrap();
    let mut records: Vec<Value> = Vec::new();
    for o in &sim.objects[day2..] {
        let mut json = Vec::new();
        flate2::read::MultiGzDecoder::new(o.body.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        let doc: Value = serde_json::from_slice(&json).unwrap();
        records.extend(doc["Records"].as_array().unwrap().iter().cloned());
    }
    eprintln!(
        "simulated and trained in {:?}: {} scoring records",
        t.elapsed(),
        records.len()
    );

    let sdk = moto_config(&endpoint()).await;
    let clients = Clients::new(&sdk);
    let (trail, models, table) = (
        unique_name("bench-trail"),
        unique_name("bench-models"),
        unique_name("bench-findings"),
    );
    for b in [&trail, &models] {
        clients.s3.create_bucket().bucket(b).send().await.unwrap();
    }
    create_table(&clients.dynamodb, &table).await.unwrap();
    let topic = clients
        .sns
        .create_topic()
        .name(unique_name("bench-alerts"))
        .send()
        .await
        .unwrap();
    let signing_key_parameter = store_test_key(&clients.ssm).await.unwrap();
    push_model(
        &clients.s3,
        &models,
        MODEL_KEY,
        model.to_bytes().unwrap(),
        &test_key(),
    )
    .await
    .unwrap();
    let mut keys = Vec::new();
    for (i, chunk) in records.chunks(per_file).take(files).enumerate() {
        let body = gzip(&serde_json::to_vec(&json!({ "Records": chunk })).unwrap()).unwrap();
        let key = format!(
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/05/123456789012_CloudTrail_us-east-1_20240305T{:04}Z_bench{i:04}.json.gz",
            i * 5
        );
        eprintln!(
            "object {key}: {} records, {} bytes gzipped",
            chunk.len(),
            body.len()
        );
        clients
            .s3
            .put_object()
            .bucket(&trail)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        keys.push(key);
    }
    let doc = json!({
        "trail": trail, "models": models, "table": table,
        "signing_key_parameter": signing_key_parameter,
        "topic": topic.topic_arn().unwrap(), "keys": keys,
    });
    std::fs::write(state, doc.to_string()).unwrap();
}

fn s3_event(bucket: &str, key: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/events/s3-put.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
    event["Records"][0]["s3"]["object"]["key"] = json!(key);
    event
}

async fn run(state: &str, started: Instant, all_moto: bool) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let s = |k: &str| doc[k].as_str().unwrap().to_owned();
    let vars = [
        ("FINDINGS_TABLE", s("table")),
        ("ALERTS_TOPIC_ARN", s("topic")),
        ("MODEL_BUCKET", s("models")),
        ("MODEL_SIGNING_KEY_PARAMETER", s("signing_key_parameter")),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let sdk = moto_config(&endpoint()).await;
    let clients = Clients::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let keys: Vec<String> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    if all_moto {
        measure(
            &AwsIngest::on_aws(&config, &clients, &sqs),
            &s("trail"),
            &keys,
            started,
            None,
        )
        .await;
    } else {
        let memory = Ingest {
            objects: S3ObjectSource::new(clients.s3.clone(), config.ingest.max_decompressed_bytes),
            models: S3ModelSource::new(
                clients.s3.clone(),
                &config.ingest.model_bucket,
                &config.model_key,
                config.ingest.model_refresh,
            )
            .with_signing_key(SigningKeySource::Fixed(test_key().into())),
            findings: CountingStore::default(),
            alerts: CountingSink::default(),
            profiles: None,
            pipeline: config.pipeline(),
            margin: Default::default(),
            dead_letters: None,
        };
        let counts = |i: &Ingest<_, _, CountingStore, CountingSink>| {
            (
                i.findings.0.load(Ordering::Relaxed),
                i.alerts.0.load(Ordering::Relaxed),
            )
        };
        measure(&memory, &s("trail"), &keys, started, Some(&counts)).await;
    }
}

type Counts<'a, O, M, F, A> = Option<&'a dyn Fn(&Ingest<O, M, F, A>) -> (usize, usize)>;

async fn measure<O, M, F, A>(
    ingest: &Ingest<O, M, F, A>,
    trail: &str,
    keys: &[String],
    started: Instant,
    counts: Counts<'_, O, M, F, A>,
) where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
{
    ingest.warm_up().await;
    let model_loaded = started.elapsed();
    let invoke = |key: &str| {
        let event = s3_event(trail, key);
        async move {
            let t = Instant::now();
            ingest
                .handle(LambdaEvent::new(event, Context::default()))
                .await
                .unwrap();
            t.elapsed().as_secs_f64() * 1e3
        }
    };
    let report_counts = |label: &str| {
        if let Some(c) = counts {
            let (f, a) = c(ingest);
            eprintln!("  after {label}: {f} findings, {a} alerts (cumulative)");
        }
    };
    let first = invoke(&keys[0]).await;
    eprintln!(
        "cold start: model loaded at {:.0} ms, first object handled at {:.0} ms (object alone {first:.0} ms)",
        model_loaded.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3,
    );
    report_counts("first object");
    let mut warm = Vec::new();
    for key in &keys[1..] {
        warm.push(invoke(key).await);
    }
    if !warm.is_empty() {
        warm.sort_by(f64::total_cmp);
        let mean = warm.iter().sum::<f64>() / warm.len() as f64;
        eprintln!(
            "warm objects: n={} mean {mean:.0} ms, min {:.0} ms, max {:.0} ms",
            warm.len(),
            warm[0],
            warm[warm.len() - 1]
        );
        report_counts("warm objects");
    }
    let replay = invoke(&keys[0]).await;
    eprintln!("replay of the first object (all findings stored): {replay:.0} ms");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
        eprintln!("peak RSS {}", hwm.trim_start_matches("VmHWM:").trim());
    }
}
