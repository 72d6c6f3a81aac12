//! CloudWatch Logs subscription sources end to end on real-shaped fixtures: Lambda
//! events decoded, routed by log group or by content, and every message parsed by
//! its source's parser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use trailhound_core::decode::Limits;
use trailhound_core::sources::access_log::{self, AccessFormat};
use trailhound_core::sources::cwl::{self, LogSource, MessageType, Route, SourceMap};
use trailhound_core::sources::vpcflow::{Action, FlowFormat, FlowLine};
use trailhound_core::sources::web_payload;

fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).unwrap()
}

const MAP: &str = "/aws/vpc/*=vpcflow,*nginx*=access_log:nginx,aws-cloudtrail-logs-*=cloudtrail";

#[test]
fn vpc_flow_event_decodes_routes_and_parses() {
    let payload =
        cwl::decode_lambda_event(&fixture("cwl/vpcflow.event.json"), &Limits::default()).unwrap();
    let sub = payload.parse().unwrap();
    assert_eq!(sub.message_type, MessageType::Data);
    assert_eq!(sub.owner, "123456789012");
    assert_eq!(sub.log_group, "/aws/vpc/flowlogs/prod");
    assert_eq!(sub.subscription_filters, vec!["vpc-flow-to-trailhound"]);
    assert_eq!(sub.log_events.len(), 7);
    assert!(
        sub.log_events
            .iter()
            .all(|e| e.id.len() == 56 && e.timestamp > 1_709_547_360_000)
    );

    // The decoded payload is exactly the stored plain fixture.
    let plain: serde_json::Value =
        serde_json::from_slice(&fixture("cwl/vpcflow.payload.json")).unwrap();
    let decoded: serde_json::Value = serde_json::from_slice(payload.as_bytes()).unwrap();
    assert_eq!(plain, decoded);

    let map = SourceMap::parse(MAP).unwrap();
    let Some(Route::VpcFlow(format)) = map.route(&sub.log_group, &sub.log_events[0].message) else {
        panic!("flow log group not routed to vpcflow");
    };
    let (mut records, mut nodata, mut skipdata, mut rejects) = (0, 0, 0, 0);
    for e in &sub.log_events {
        match format.parse_line(&e.message).unwrap() {
            FlowLine::Record(r) => {
                records += 1;
                rejects += usize::from(r.action == Action::Reject);
            }
            FlowLine::NoData => nodata += 1,
            FlowLine::SkipData => skipdata += 1,
        }
    }
    assert_eq!((records, nodata, skipdata, rejects), (5, 1, 1, 1));
}

#[test]
fn nginx_event_parses_every_line_and_flags_the_attacks() {
    let payload =
        cwl::decode_lambda_event(&fixture("cwl/nginx.event.json"), &Limits::default()).unwrap();
    let sub = payload.parse().unwrap();
    let map = SourceMap::parse(MAP).unwrap();
    assert_eq!(map.resolve(&sub.log_group, ""), Some(LogSource::AccessLog));
    let Some(Route::AccessLog(fmt)) = map.route(&sub.log_group, "") else {
        panic!("nginx group not routed to access_log");
    };
    assert_eq!(fmt, AccessFormat::NginxCombined);
    let mut flagged = Vec::new();
    for e in &sub.log_events {
        let r =
            access_log::parse_line(&e.message, fmt).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        assert!(r.time.is_some_and(|t| t >= 1_709_547_330));
        assert!(r.latency_ms.is_some(), "request time present on every line");
        let hits = web_payload::inspect(&r.path, r.query.as_deref(), &r.user_agent);
        if !hits.is_empty() {
            flagged.push((r.status, hits.iter().map(|h| h.id).collect::<Vec<_>>()));
        }
    }
    assert_eq!(
        flagged,
        vec![
            (500, vec!["web.sqli", "web.scanner_ua"]),
            (404, vec!["web.cmd_injection", "web.shellshock"]),
        ]
    );
}

#[test]
fn cloudtrail_event_is_sniffed_and_parses_with_the_cloudtrail_path() {
    let payload =
        cwl::decode_lambda_event(&fixture("cwl/cloudtrail.event.json"), &Limits::default())
            .unwrap();
    let sub = payload.parse().unwrap();
    let msg = &sub.log_events[0].message;
    // By pattern and, with no map at all, by content.
    assert_eq!(
        SourceMap::parse(MAP).unwrap().resolve(&sub.log_group, msg),
        Some(LogSource::CloudTrail)
    );
    assert_eq!(
        SourceMap::default().resolve("/some/group", msg),
        Some(LogSource::CloudTrail)
    );
    let mut batch = trailhound_core::sources::cloudtrail::CtBatch::default();
    batch.push_json(msg.as_bytes()).unwrap();
    assert_eq!(batch.events.len(), 1);
    assert_eq!(
        &*batch.events[0].event_id,
        "3f1d6a2e-7b8c-4d9e-a0f1-2b3c4d5e6f70"
    );
}

#[test]
fn control_message_is_reported_as_such() {
    let payload =
        cwl::decode_lambda_event(&fixture("cwl/control.event.json"), &Limits::default()).unwrap();
    let sub = payload.parse().unwrap();
    assert!(sub.is_control());
    assert_eq!(sub.owner, "CloudwatchLogs");
}

#[test]
fn flow_log_fixtures_parse_in_default_and_custom_formats() {
    let default = FlowFormat::default();
    let lines = text("vpcflow/default-v2.log");
    let parsed: Vec<_> = lines
        .lines()
        .map(|l| default.parse_line(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 7);
    assert!(matches!(&parsed[3], FlowLine::Record(r) if r.src_addr.is_ipv6()));

    let custom = FlowFormat::parse(text("vpcflow/custom-v5.format").trim()).unwrap();
    let lines = text("vpcflow/custom-v5.log");
    let parsed: Vec<_> = lines
        .lines()
        .map(|l| custom.parse_line(l).unwrap())
        .collect();
    match &parsed[0] {
        FlowLine::Record(r) => {
            assert_eq!((r.bytes, r.packets), (918_234, 640));
            assert_eq!(r.pkt_dst_aws_service, Some("S3"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed[3], FlowLine::NoData);
    // Lines of one format are refused by the other.
    assert!(default.parse_line(lines.lines().next().unwrap()).is_err());
}

#[test]
fn access_log_fixtures_parse_in_each_format_and_auto() {
    for (rel, fmt, n) in [
        ("access_log/nginx.log", AccessFormat::NginxCombined, 8),
        ("access_log/morgan.log", AccessFormat::MorganCombined, 3),
        ("access_log/morgan.jsonl", AccessFormat::MorganJson, 3),
    ] {
        let body = text(rel);
        let mut count = 0;
        for line in body.lines() {
            let r =
                access_log::parse_line(line, fmt).unwrap_or_else(|e| panic!("{rel}: {e}: {line}"));
            let auto = access_log::parse_line(line, AccessFormat::Auto).unwrap();
            assert_eq!(
                (auto.remote, auto.status, &auto.path),
                (r.remote, r.status, &r.path),
                "{rel}"
            );
            count += 1;
        }
        assert_eq!(count, n, "{rel}");
    }
    let morgan = text("access_log/morgan.log");
    let first =
        access_log::parse_line(morgan.lines().next().unwrap(), AccessFormat::MorganCombined)
            .unwrap();
    assert!(
        (first.latency_ms.unwrap() - 4.127).abs() < 1e-3,
        "morgan response time is in ms"
    );
}

#[test]
fn unknown_formats_resolve_to_none() {
    let map = SourceMap::parse(MAP).unwrap();
    for sample in [
        "START RequestId: 8f5e1c2a-0b1d-4c3e-9f8a-7b6c5d4e3f2a Version: $LATEST",
        "2024-03-04T10:15:30.123Z INFO server listening on :8080",
        r#"{"level":"warn","msg":"slow query","ms":812}"#,
        "<134>1 2024-03-04T10:15:30Z host app - - - hello",
    ] {
        assert_eq!(map.resolve("/aws/lambda/orders", sample), None, "{sample}");
    }
}

#[test]
fn docs_document_every_payload_rule_and_flow_field() {
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let detections = read("docs/detections.md");
    let signatures = detections
        .split("## Web payload signatures")
        .nth(1)
        .expect("docs/detections.md has the web payload signatures section");
    for r in &web_payload::RULES {
        assert!(
            signatures.contains(&format!("| `{}` |", r.id)),
            "docs/detections.md lacks rule {}",
            r.id
        );
        assert!(
            signatures.contains(r.technique),
            "docs/detections.md lacks {} of {}",
            r.technique,
            r.id
        );
    }
    let section = read("docs/sources/vpcflow.md");
    let v5 = FlowFormat::parse(text("vpcflow/custom-v5.format").trim()).unwrap();
    for f in v5.fields() {
        assert!(
            section.contains(&format!("`{}`", f.name())),
            "docs/sources/vpcflow.md lacks flow field {}",
            f.name()
        );
    }
    let section = read("docs/sources/access-log.md");
    for name in ["nginx", "morgan", "morgan-json", "auto"] {
        assert!(
            section.contains(&format!("`{name}`")),
            "docs/sources/access-log.md lacks access format {name}"
        );
    }
}

/// Every prefix of every fixture line, and each line with one byte replaced by a
/// delimiter, goes through every parser: each gives a value or an error, never a
/// panic.
#[test]
fn truncated_and_mangled_lines_never_panic() {
    let custom = FlowFormat::parse(text("vpcflow/custom-v5.format").trim()).unwrap();
    let map = SourceMap::parse(MAP).unwrap();
    let mut lines = Vec::new();
    for rel in [
        "vpcflow/default-v2.log",
        "vpcflow/custom-v5.log",
        "access_log/nginx.log",
        "access_log/morgan.log",
        "access_log/morgan.jsonl",
    ] {
        lines.extend(text(rel).lines().map(str::to_owned));
    }
    let mut variants = Vec::new();
    for line in &lines {
        for cut in (0..=line.len()).filter(|&i| line.is_char_boundary(i)) {
            variants.push(line[..cut].to_owned());
        }
        for (i, _) in line.char_indices().step_by(3) {
            for c in ['"', ' ', '[', ']', '%', '{', '?', '-'] {
                let mut m = line.clone();
                m.replace_range(
                    i..i + line[i..].chars().next().map_or(1, char::len_utf8),
                    &c.to_string(),
                );
                variants.push(m);
            }
        }
    }
    let mut parsed = 0usize;
    for v in &variants {
        parsed += usize::from(FlowFormat::default().parse_line(v).is_ok());
        parsed += usize::from(custom.parse_line(v).is_ok());
        for fmt in [
            AccessFormat::NginxCombined,
            AccessFormat::MorganCombined,
            AccessFormat::MorganJson,
            AccessFormat::Auto,
        ] {
            if let Ok(r) = access_log::parse_line(v, fmt) {
                parsed += 1;
                web_payload::inspect(&r.path, r.query.as_deref(), &r.user_agent);
            }
        }
        web_payload::inspect(v, Some(v), v);
        map.resolve("/unmapped", v);
    }
    assert!(variants.len() > 10_000, "{}", variants.len());
    assert!(parsed > lines.len(), "some variants still parse");
}
