//! The CloudWatch Logs pipeline on the in-memory ports: real-shaped payloads,
//! control messages, malformed payloads, unknown log groups, and replays.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::PathBuf;
use trailhound_core::Severity;
use trailhound_core::logs::{LogsConfig, LogsError, LogsPorts, ModelSet, run_payload};
use trailhound_core::pipeline::PipelineConfig;
use trailhound_core::ports::{InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, Retry};
use trailhound_core::sources::cwl::SourceMap;

const MAP: &str = "/aws/vpc/*=vpcflow,*nginx*=access_log:nginx,aws-cloudtrail-logs-*=cloudtrail";

fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A Lambda event around a payload, as CloudWatch Logs sends it.
fn lambda_event(payload_json: &str) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(payload_json.as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#).into_bytes()
}

fn payload(group: &str, messages: &[String]) -> String {
    let events: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                r#"{{"id":"3720000000000000000000000000000000000000000000000{i:07}","timestamp":{},"message":{}}}"#,
                1_709_547_300_000i64 + i as i64,
                serde_json::to_string(m).unwrap()
            )
        })
        .collect();
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"{group}","logStream":"s","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
        events.join(",")
    )
}

fn nginx(ip: &str, sec: u32, req: &str, status: u16) -> String {
    format!(
        "{ip} - - [04/Mar/2024:10:15:{sec:02} +0000] \"{req} HTTP/1.1\" {status} 321 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\""
    )
}

struct World {
    ct: InMemoryModelSource,
    flow: InMemoryModelSource,
    web: InMemoryModelSource,
    store: InMemoryFindingStore,
    alerts: InMemoryAlertSink,
    cfg: LogsConfig,
}

impl World {
    fn new() -> Self {
        Self {
            ct: InMemoryModelSource::default(),
            flow: InMemoryModelSource::default(),
            web: InMemoryModelSource::default(),
            store: InMemoryFindingStore::default(),
            alerts: InMemoryAlertSink::default(),
            cfg: LogsConfig {
                pipeline: PipelineConfig {
                    min_alert_severity: Severity::Medium,
                    ..PipelineConfig::default()
                },
                sources: SourceMap::parse(MAP).unwrap(),
            },
        }
    }

    fn run(&self, event: &[u8]) -> Result<trailhound_core::logs::LogsReport, LogsError> {
        let models = ModelSet {
            cloudtrail: &self.ct,
            vpcflow: &self.flow,
            access_log: &self.web,
        };
        let ports = LogsPorts {
            models: &models,
            findings: &self.store,
            alerts: &self.alerts,
        };
        block_on(run_payload(event, &ports, &self.cfg))
    }
}

/// The in-memory ports never pend, so polling once with a no-op waker completes them.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

fn brute_force_payload() -> String {
    let mut lines: Vec<String> = (0..40)
        .map(|i| nginx("203.0.113.9", i, "POST /login", 401))
        .collect();
    for i in 0..10 {
        lines.push(nginx("198.51.100.7", i, "GET /products/42", 200));
    }
    payload("/ecs/shop/nginx-access", &lines)
}

#[test]
fn a_brute_force_becomes_one_finding_and_one_alert() {
    let w = World::new();
    let report = w.run(&lambda_event(&brute_force_payload())).unwrap();
    assert_eq!(report.counts.events, 50);
    assert_eq!(report.counts.parsed, 50);
    assert_eq!(report.counts.skipped, 0);
    let stored = w.store.findings();
    assert_eq!(stored.len(), 1, "{stored:#?}");
    let f = &stored[0];
    assert_eq!(f.source, "access_log");
    assert_eq!(f.principal, "203.0.113.9");
    assert_eq!(f.action, "brute force on POST /login");
    assert!(f.severity.is_some_and(|s| s >= Severity::High), "{f:?}");
    assert!(
        f.detections
            .iter()
            .any(|d| d.id == "web.brute_force" && d.technique.as_deref() == Some("T1110.001"))
    );
    assert!(
        f.reasons.iter().any(|r| r.contains("40 failed logins")),
        "{:?}",
        f.reasons
    );
    // The finding is named after the window's first CloudWatch Logs event.
    assert_eq!(
        f.event_id,
        "37200000000000000000000000000000000000000000000000000000"
    );
    assert_eq!(w.alerts.sent().len(), 1);
}

#[test]
fn keep_all_gives_one_line_per_log_event_pointing_at_its_finding() {
    let mut w = World::new();
    w.cfg.pipeline.keep_all = true;
    let report = w.run(&lambda_event(&brute_force_payload())).unwrap();
    assert_eq!(report.output.len(), 50);
    let flagged: Vec<_> = report
        .output
        .iter()
        .filter(|f| f.severity.is_some())
        .collect();
    assert_eq!(flagged.len(), 40);
    let ids: std::collections::HashSet<_> = flagged.iter().map(|f| &f.finding_id).collect();
    assert_eq!(ids.len(), 1, "all 40 requests point at the one finding");
    let mut event_ids: Vec<_> = report.output.iter().map(|f| f.event_id.clone()).collect();
    event_ids.dedup();
    assert_eq!(event_ids.len(), 50, "each line carries its own event id");
}

#[test]
fn replaying_a_payload_stores_and_alerts_nothing_new() {
    let w = World::new();
    let event = lambda_event(&brute_force_payload());
    w.run(&event).unwrap();
    w.run(&event).unwrap();
    assert_eq!(w.store.findings().len(), 1);
    assert_eq!(w.alerts.sent().len(), 1);
}

#[test]
fn real_shaped_fixtures_run_end_to_end() {
    let w = World::new();
    for (name, source) in [
        ("cwl/vpcflow.event.json", "vpcflow"),
        ("cwl/nginx.event.json", "access_log"),
        ("cwl/cloudtrail.event.json", "cloudtrail"),
    ] {
        let r = w.run(&fixture(name)).unwrap();
        assert!(r.counts.events > 0, "{name}");
        assert_eq!(r.counts.unrouted, 0, "{name}");
        assert!(
            r.counts.parsed + r.counts.no_data + r.counts.skipped == r.counts.events,
            "{name}: {:?}",
            r.counts
        );
        assert!(
            r.model_versions.contains_key(source),
            "{name}: {:?}",
            r.model_versions
        );
    }
}

#[test]
fn control_messages_are_acknowledged_and_ignored() {
    let w = World::new();
    let r = w.run(&fixture("cwl/control.event.json")).unwrap();
    assert_eq!(r.counts.control, 1);
    assert_eq!(r.counts.parsed, 0);
    assert!(w.store.findings().is_empty());
}

#[test]
fn malformed_payloads_are_non_retryable_errors() {
    let w = World::new();
    let gz_of_truncated = lambda_event(&brute_force_payload()[..200]);
    let not_gzip = format!(
        r#"{{"awslogs":{{"data":"{}"}}}}"#,
        base64::engine::general_purpose::STANDARD.encode(b"plain text, not gzip")
    );
    for (what, event) in [
        (
            "bad base64",
            br#"{"awslogs":{"data":"!!not base64!!"}}"#.to_vec(),
        ),
        ("bad gzip", not_gzip.into_bytes()),
        ("truncated JSON", gz_of_truncated),
        ("not a Lambda event", b"{\"Records\":[]}".to_vec()),
    ] {
        let err = w.run(&event).unwrap_err();
        assert!(matches!(err, LogsError::BadPayload(_)), "{what}: {err}");
        assert_eq!(err.retry(), Retry::NonRetryable, "{what}");
    }
}

#[test]
fn unknown_groups_with_unrecognisable_content_are_counted_skips() {
    let w = World::new();
    let lines = vec![
        "hello world".to_owned(),
        "something else entirely".to_owned(),
    ];
    let r = w
        .run(&lambda_event(&payload("/app/custom", &lines)))
        .unwrap();
    assert_eq!(r.counts.unrouted, 2);
    assert_eq!(r.counts.parsed, 0);
}

#[test]
fn bad_lines_in_a_known_group_are_skipped_not_fatal() {
    let w = World::new();
    let mut lines = vec![nginx("198.51.100.7", 1, "GET /", 200)];
    lines.push("garbage that is not an access log line".to_owned());
    let r = w
        .run(&lambda_event(&payload("/ecs/shop/nginx-access", &lines)))
        .unwrap();
    assert_eq!(r.counts.parsed, 1);
    assert_eq!(r.counts.skipped, 1);
}

#[test]
fn a_port_scan_in_flow_logs_is_one_finding() {
    let w = World::new();
    let lines: Vec<String> = (1..=300)
        .map(|p| {
            format!(
                "2 123456789012 eni-0a1b2c3d 198.51.100.23 10.0.1.10 40000 {p} 6 1 44 1709547300 1709547310 REJECT OK"
            )
        })
        .collect();
    let r = w
        .run(&lambda_event(&payload("/aws/vpc/flowlogs/prod", &lines)))
        .unwrap();
    assert_eq!(r.counts.parsed, 300);
    let stored = w.store.findings();
    assert_eq!(stored.len(), 1, "{stored:#?}");
    assert_eq!(stored[0].source, "vpcflow");
    assert_eq!(stored[0].principal, "198.51.100.23");
    assert!(stored[0].detections.iter().any(|d| d.id == "net.port_scan"));
}
