//! Peak memory of one CloudWatch Logs subscription event through the logs-ingest
//! code path: the Lambda runtime's copy of the event (`Box<RawValue>`), then
//! `logs::run_payload` (decode, parse, route, score, store, alert) on the in-memory
//! ports. Prints the outcome and the process's peak resident set (`VmHWM`).
//!
//! ```text
//! cargo run --release -p trailhound-core --example cwl_peak -- --make bomb /tmp/bomb.json
//! cargo run --release -p trailhound-core --example cwl_peak -- /tmp/bomb.json
//! ```
//!
//! `--make KIND FILE [BYTES]` writes a worst-case Lambda event of at most 1 MB
//! (the asynchronous invocation limit): `bomb` (a gzip bomb that inflates as far as
//! 1 MB of base64 allows), `flow` (VPC Flow Logs events) or `cloudtrail` (CloudTrail
//! events, every message escaped), the last two of about BYTES decompressed (default
//! just under 16 MiB).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a measuring tool fails loudly"
)]

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write as _;
use trailhound_core::logs::{LogsConfig, LogsPorts, ModelSet, run_payload};
use trailhound_core::ports::{InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource};
use trailhound_core::sources::cwl::SourceMap;

/// The largest asynchronous Lambda invocation payload.
const MAX_EVENT: usize = 1_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, kind, file, rest @ ..] if flag == "--make" => {
            let bytes = rest
                .first()
                .map_or((16 << 20) - 4096, |b| b.parse().unwrap());
            let event = make(kind, bytes);
            assert!(event.len() <= MAX_EVENT, "event of {} bytes", event.len());
            std::fs::write(file, &event).unwrap();
            println!("{file}: {} bytes", event.len());
        }
        [file] => run(file),
        _ => panic!("usage: cwl_peak FILE | cwl_peak --make bomb|flow|cloudtrail FILE [BYTES]"),
    }
}

fn run(file: &str) {
    let body = std::fs::read(file).unwrap();
    // What the runtime hands the handler: the event as a raw JSON value.
    let raw: Box<serde_json::value::RawValue> = serde_json::from_slice(&body).unwrap();
    drop(body);
    let none = InMemoryModelSource::default();
    let models = ModelSet {
        cloudtrail: &none,
        vpcflow: &none,
        access_log: &none,
    };
    let findings = InMemoryFindingStore::default();
    let alerts = InMemoryAlertSink::default();
    let ports = LogsPorts {
        models: &models,
        findings: &findings,
        alerts: &alerts,
    };
    let cfg = LogsConfig {
        sources: SourceMap::parse("/aws/vpc/*=vpcflow,aws-cloudtrail-logs-*=cloudtrail").unwrap(),
        ..LogsConfig::default()
    };
    let outcome = match block_on(run_payload(raw.get().as_bytes(), &ports, &cfg)) {
        Ok(r) => format!("ok: {} events, {} parsed", r.counts.events, r.counts.parsed),
        Err(e) => format!("refused: {e}"),
    };
    println!("{file}: {outcome}");
    println!("VmHWM {}", status("VmHWM"));
}

fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim_start_matches(':').trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

fn lambda_event(gz: &[u8]) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(gz);
    format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#).into_bytes()
}

fn make(kind: &str, bytes: usize) -> Vec<u8> {
    match kind {
        "bomb" => {
            // As much inflation as 1 MB of base64 holds: about 1,000 to 1.
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/vpc/x","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":""#).unwrap();
            let chunk = vec![b'A'; 1 << 20];
            for _ in 0..700 {
                gz.write_all(&chunk).unwrap();
            }
            lambda_event(&gz.finish().unwrap())
        }
        "flow" | "cloudtrail" => {
            let (group, ct) = if kind == "flow" {
                ("/aws/vpc/flowlogs", false)
            } else {
                ("aws-cloudtrail-logs-123456789012", true)
            };
            let mut json = format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"{group}","logStream":"s","subscriptionFilters":["f"],"logEvents":["#
            );
            let mut i = 0u64;
            while json.len() < bytes - 1024 {
                if i > 0 {
                    json.push(',');
                }
                let msg = if ct {
                    format!(
                        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/u{}","accountId":"123456789012"}},"eventTime":"2024-03-04T10:{:02}:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.{}","userAgent":"aws-cli/2.15","eventID":"5f4d6c1e-0000-4000-8000-{:012}","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#,
                        i % 8,
                        (i / 60) % 60,
                        i % 60,
                        i % 16,
                        i
                    )
                } else {
                    format!(
                        "2 123456789012 eni-0a1b2c3d 10.0.{}.{} 10.0.2.9 443 {} 6 10 840 1709547300 1709547360 ACCEPT OK",
                        (i / 64) % 4,
                        i % 64,
                        1024 + i % 16
                    )
                };
                json.push_str(&format!(
                    r#"{{"id":"{:056}","timestamp":{},"message":{}}}"#,
                    37_958_263_527_402_374u64 + i,
                    1_709_547_361_000u64 + i,
                    serde_json::to_string(&msg).unwrap()
                ));
                i += 1;
            }
            json.push_str("]}");
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(json.as_bytes()).unwrap();
            let event = lambda_event(&gz.finish().unwrap());
            eprintln!("{i} events, {} bytes decompressed", json.len());
            event
        }
        other => panic!("unknown kind {other}"),
    }
}
