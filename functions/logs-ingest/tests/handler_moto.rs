//! The real logs-ingest handler, invoked directly with real-shaped CloudWatch Logs
//! subscription events (moto cannot run a Lambda from a subscription filter),
//! against moto's DynamoDB, SNS and SQS (and S3 for the models). Skipped with a
//! message when `TRAILHOUND_MOTO_ENDPOINT` is unset (scripts/test.sh sets it).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use logs_ingest::{AwsLogsIngest, Config, HandlerError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::io::Write as _;
use trailhound_aws::push_model;
use trailhound_aws::signing::{store_test_key, test_key};
use trailhound_aws::testing::{
    FilteredQueue, moto_config, moto_endpoint, stored_findings, unique_name,
};
use trailhound_aws::{Clients, dynamo::create_table};
use trailhound_core::decode::Limits;
use trailhound_core::finding::Finding;
use trailhound_core::logs::{LogsBatch, LogsError};
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::models::train::train_vpcflow;
use trailhound_core::sources::cwl::SourceMap;
use trailhound_simulate::net::{
    Label, NetScenario, NetSimConfig, NetSimError, NetSource, generate,
};

/// Everything one test needs, with names no other test uses.
struct Env {
    clients: Clients,
    config: Config,
    /// A subscriber with the Slack subscription's filter policy (template.yaml).
    slack: FilteredQueue,
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
    let slack = FilteredQueue::subscribe(
        &clients.sns,
        &sqs,
        &topic_arn,
        r#"{"severity":["MEDIUM","HIGH","CRITICAL"]}"#,
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
        (
            "LOG_GROUP_SOURCES",
            "/aws/vpc/*=vpcflow,/ecs/nginx*=access_log:nginx".to_owned(),
        ),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Some(Env {
        clients,
        config,
        slack,
    })
}

impl Env {
    fn ingest(&self) -> AwsLogsIngest {
        AwsLogsIngest::on_aws(&self.config, &self.clients)
    }

    /// Every stored finding.
    async fn stored_findings(&self) -> Vec<Finding> {
        stored_findings(&self.clients.dynamodb, &self.config.ingest.findings_table)
            .await
            .unwrap()
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// Stored findings: finding id → (source, severity, principal, reasons).
    async fn stored(&self) -> BTreeMap<String, (String, String, String, String)> {
        self.stored_findings()
            .await
            .into_iter()
            .map(|f| {
                let severity = f
                    .severity
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default();
                (
                    f.finding_id,
                    (f.source, severity, f.principal, f.reasons.join(" | ")),
                )
            })
            .collect()
    }

    /// Alerts delivered to the Slack subscriber since the last call: (severity,
    /// source, finding id).
    async fn drain_alerts(&self) -> Vec<(String, String, String)> {
        self.slack
            .drain()
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.attributes["severity"].clone(),
                    d.attributes["source"].clone(),
                    d.message["finding_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// A Lambda subscription event as CloudWatch Logs sends it: the message gzipped and
/// base64-encoded under `awslogs.data`.
fn lambda_event(group: &str, stream: &str, messages: &[(i64, String)]) -> Vec<u8> {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, (ts, m))| {
            // 56 digits, like CloudWatch Logs' own ids.
            json!({"id": format!("3829{ts:013}{i:039}"), "timestamp": ts, "message": m})
        })
        .collect();
    let payload = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["trailhound-logs"],
        "logEvents": events,
    });
    wrap(payload.to_string().as_bytes())
}

fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(payload).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    json!({"awslogs": {"data": data}}).to_string().into_bytes()
}

const T0: i64 = 1_709_546_400; // 2024-03-04T10:00:00Z

/// A port scan from one public address (150 ports, all rejected) in a minute of
/// ordinary web-tier traffic, as default-format (version 2) flow log lines.
fn port_scan_event() -> Vec<u8> {
    let mut lines = Vec::new();
    for i in 0..40i64 {
        lines.push((
            (T0 + i) * 1000,
            format!(
                "2 123456789012 eni-0a1b2c3d4e5f60718 198.51.100.{} 10.0.1.20 {} 443 6 12 4200 {} {} ACCEPT OK",
                10 + i % 20,
                40_000 + i,
                T0 + i,
                T0 + i + 5
            ),
        ));
    }
    for p in 1..=150i64 {
        lines.push((
            (T0 + 10 + p / 5) * 1000,
            format!(
                "2 123456789012 eni-0a1b2c3d4e5f60718 203.0.113.50 10.0.1.20 51515 {p} 6 1 44 {} {} REJECT OK",
                T0 + 10 + p / 5,
                T0 + 11 + p / 5
            ),
        ));
    }
    lambda_event(
        "/aws/vpc/flowlogs/prod",
        "eni-0a1b2c3d4e5f60718-all",
        &lines,
    )
}

#[tokio::test]
async fn a_port_scan_is_one_finding_and_one_alert_and_a_replay_adds_nothing() {
    let Some(env) = env("logs_port_scan").await else {
        return;
    };
    let ingest = env.ingest();
    let event = port_scan_event();
    let report = ingest.handle_bytes(&event).await.unwrap();
    assert_eq!(report.counts.events, 190);
    assert_eq!(report.counts.parsed, 190);
    assert_eq!(report.counts.skipped, 0);

    let stored = env.stored().await;
    let scans: Vec<_> = stored
        .iter()
        .filter(|(_, (_, _, principal, _))| principal == "203.0.113.50")
        .collect();
    assert_eq!(scans.len(), 1, "one finding for the scanner: {stored:?}");
    let (id, (source, severity, _, reasons)) = scans[0];
    assert_eq!(source, "vpcflow");
    assert_eq!(severity, "medium");
    assert!(reasons.contains("port scan"), "{reasons}");
    assert!(
        stored.values().all(|(_, _, p, _)| p == "203.0.113.50"),
        "ordinary web traffic is not a finding: {stored:?}"
    );
    let alerts = env.drain_alerts().await;
    assert_eq!(
        alerts,
        vec![("MEDIUM".to_owned(), "vpcflow".to_owned(), id.clone())]
    );

    // CloudWatch Logs (or Lambda's async retry) delivers the same payload again.
    let again = ingest.handle_bytes(&event).await.unwrap();
    assert_eq!(again.alerts, 0);
    assert_eq!(env.stored().await.len(), stored.len());
    assert!(env.drain_alerts().await.is_empty());
}

#[tokio::test]
async fn web_attacks_and_cloudtrail_through_cloudwatch_logs_reach_the_same_contracts() {
    let Some(env) = env("logs_web_and_cloudtrail").await else {
        return;
    };
    let ingest = env.ingest();
    let mut lines = Vec::new();
    for i in 0..30i64 {
        lines.push((
            (T0 + i) * 1000,
            format!(
                "198.51.100.{} - - [04/Mar/2024:10:00:{:02} +0000] \"GET /products/{} HTTP/1.1\" 200 5120 \"https://shop.example.com/\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36\" 0.012",
                20 + i % 7,
                i,
                100 + i
            ),
        ));
    }
    lines.push((
        (T0 + 40) * 1000,
        "203.0.113.77 - - [04/Mar/2024:10:00:40 +0000] \"GET /products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1\" 500 312 \"-\" \"sqlmap/1.7.2#stable (https://sqlmap.org)\" 0.044".to_owned(),
    ));
    let web = lambda_event("/ecs/nginx-web", "web/nginx/7f3c", &lines);
    let report = ingest.handle_bytes(&web).await.unwrap();
    assert_eq!(report.counts.parsed, 31);
    let stored = env.stored().await;
    let attacker: Vec<_> = stored
        .values()
        .filter(|(_, _, p, _)| p == "203.0.113.77")
        .collect();
    assert_eq!(attacker.len(), 1, "{stored:?}");
    assert_eq!(attacker[0].0, "access_log");
    assert!(
        attacker[0].3.to_lowercase().contains("sql"),
        "{:?}",
        attacker[0]
    );
    let alerts = env.drain_alerts().await;
    assert!(
        alerts.iter().any(|(_, source, _)| source == "access_log"),
        "{alerts:?}"
    );

    // CloudTrail delivered to CloudWatch Logs: one JSON event per log event, routed
    // by content (the group matches no pattern), scored by the CloudTrail path.
    let stop = json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSERID1234",
            "arn": "arn:aws:iam::123456789012:user/mallory", "accountId": "123456789012",
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "mallory"},
        "eventTime": "2024-03-04T10:05:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2",
        "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"},
        "responseElements": null,
        "requestID": "0d6c0b1e-6f3a-4a55-9f43-2b1f8c1a7e10",
        "eventID": "5b7f0c3e-8d2a-4e4b-9a61-3c2d1e0f9a8b",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management"
    });
    let ct = lambda_event(
        "aws-cloudtrail-logs-123456789012-org",
        "123456789012_CloudTrail_us-east-1",
        &[((T0 + 300) * 1000, stop.to_string())],
    );
    ingest.handle_bytes(&ct).await.unwrap();
    let stored = env.stored().await;
    let stop_logging: Vec<_> = stored
        .values()
        .filter(|(s, _, _, _)| s == "cloudtrail")
        .collect();
    assert_eq!(stop_logging.len(), 1, "{stored:?}");
    let alerts = env.drain_alerts().await;
    assert!(
        alerts.iter().any(|(_, source, _)| source == "cloudtrail"),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn control_messages_are_acknowledged_and_bad_payloads_fail_without_storing() {
    let Some(env) = env("logs_bad_payloads").await else {
        return;
    };
    let ingest = env.ingest();
    let control = json!({
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": T0 * 1000,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda."}]
    });
    let report = ingest
        .handle_bytes(&wrap(control.to_string().as_bytes()))
        .await
        .unwrap();
    assert_eq!(report.counts.control, 1);
    assert_eq!(report.counts.parsed, 0);

    let good = port_scan_event();
    let truncated = {
        let text = String::from_utf8(good.clone()).unwrap();
        text.as_bytes()[..text.len() / 2].to_vec()
    };
    let not_gzip = json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(b"plain text, not gzip")}})
        .to_string()
        .into_bytes();
    let bad_base64 = br#"{"awslogs":{"data":"%%% not base64 %%%"}}"#.to_vec();
    let s3_event = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/events/s3-put.json"
    ))
    .unwrap();
    for (name, bad) in [
        ("truncated", truncated),
        ("not gzip", not_gzip),
        ("bad base64", bad_base64),
        ("an S3 event", s3_event),
    ] {
        let err = ingest.handle_bytes(&bad).await.unwrap_err();
        let HandlerError::Logs(inner) = &err;
        assert!(matches!(inner, LogsError::BadPayload(_)), "{name}: {err}");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "NonRetryable.BadPayload", "{name}");
    }
    assert!(env.stored().await.is_empty());
    assert!(env.drain_alerts().await.is_empty());

    // Real-shaped sample events of infra/events go through.
    for f in [
        "cloudwatch-logs-vpcflow.json",
        "cloudwatch-logs-access-log.json",
    ] {
        let bytes = std::fs::read(format!(
            "{}/../../infra/events/{f}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let report = ingest.handle_bytes(&bytes).await.unwrap();
        assert!(report.counts.parsed > 0, "{f}: {:?}", report.counts);
        assert_eq!(report.counts.skipped, 0, "{f}");
    }
}

/// Simulated flow log payloads (Lambda events) and their labels.
fn simulated_flows(seed: u64, scenarios: Vec<NetScenario>) -> (Vec<String>, Vec<Label>) {
    let cfg = NetSimConfig {
        seed,
        events_per_day: 20_000,
        scenarios,
        ..NetSimConfig::new(NetSource::VpcFlow)
    };
    let (mut events, mut labels) = (Vec::new(), Vec::new());
    generate::<NetSimError>(
        &cfg,
        |e| {
            events.push(e.to_owned());
            Ok(())
        },
        |l| {
            labels.push(l);
            Ok(())
        },
    )
    .unwrap();
    (events, labels)
}

#[tokio::test]
async fn the_vpcflow_model_comes_from_s3_and_scores_a_simulated_day() {
    let Some(env) = env("logs_vpcflow_model").await else {
        return;
    };
    // Train on a quiet day (hard negatives only), as `trailhound train` does.
    let (training, _) = simulated_flows(31, NetScenario::all_benign(NetSource::VpcFlow));
    let batch = || {
        let mut b = LogsBatch::default();
        for e in &training {
            b.add_event(e.as_bytes(), &Limits::default(), &SourceMap::default())
                .unwrap();
        }
        std::iter::once(b.vpcflow)
    };
    let model = train_vpcflow(batch, &IsolationForestParams::default()).unwrap();
    push_model(
        &env.clients.s3,
        &env.config.ingest.model_bucket,
        &env.config.model_key_for("vpcflow"),
        model.to_bytes().unwrap(),
        &test_key(),
    )
    .await
    .unwrap();

    let (day, labels) = simulated_flows(32, vec![NetScenario::PortScan]);
    let ingest = env.ingest();
    let mut versions = BTreeSet::new();
    for e in &day {
        let report = ingest.handle_bytes(e.as_bytes()).await.unwrap();
        versions.extend(report.model_versions.get("vpcflow").cloned());
    }
    assert_eq!(versions, BTreeSet::from([model.version().to_owned()]));
    let scanned: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.label == 1)
        .map(|l| l.event_id.as_str())
        .collect();
    assert!(!scanned.is_empty());
    let stored = env.stored_findings().await;
    let hits: Vec<_> = stored
        .iter()
        .filter(|f| scanned.contains(f.event_id.as_str()))
        .collect();
    assert!(!hits.is_empty(), "the port scan is found");
    assert!(hits.iter().all(|f| f.model_version == model.version()));
    let mut by_sev = std::collections::BTreeMap::new();
    for f in stored
        .iter()
        .filter(|f| !scanned.contains(f.event_id.as_str()))
    {
        *by_sev.entry(format!("{:?}", f.severity)).or_insert(0) += 1;
    }
    let loud = stored
        .iter()
        .filter(|f| !scanned.contains(f.event_id.as_str()))
        .filter(|f| f.severity >= Some(trailhound_core::Severity::Medium))
        .count();
    assert!(
        loud * 1000 <= labels.len(),
        "{loud} medium+ findings on normal traffic out of {} log events: {by_sev:?}",
        labels.len()
    );
}
