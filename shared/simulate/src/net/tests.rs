//! Tests of the whole network simulator: payload shape, labels, formats, determinism.

use super::*;
use base64::Engine;
use flate2::read::GzDecoder;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Run {
    events: Vec<String>,
    labels: Vec<Label>,
    summary: NetSummary,
}

fn small(source: NetSource, seed: u64, days: u32, events_per_day: u32) -> NetSimConfig {
    NetSimConfig {
        seed,
        days,
        events_per_day,
        ..NetSimConfig::new(source)
    }
}

/// One day of each source with every scenario, generated once for all tests (the
/// fixed-size scenarios dominate: a day of health checks, a flood, a load test).
fn shared(source: NetSource) -> &'static Run {
    static ACCESS: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    static FLOW: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    let cell = match source {
        NetSource::AccessLog => &ACCESS,
        NetSource::VpcFlow => &FLOW,
    };
    cell.get_or_init(|| match run(&small(source, 3, 1, 5_000)) {
        Ok(r) => r,
        Err(e) => panic!("simulating {source} failed: {e}"),
    })
}

fn run(cfg: &NetSimConfig) -> Result<Run, NetSimError> {
    let mut events = Vec::new();
    let mut labels = Vec::new();
    let summary = generate(
        cfg,
        |e: &str| -> Result<(), NetSimError> {
            events.push(e.to_owned());
            Ok(())
        },
        |l| -> Result<(), NetSimError> {
            labels.push(l);
            Ok(())
        },
    )?;
    Ok(Run {
        events,
        labels,
        summary,
    })
}

/// The subscription message inside one Lambda event line.
fn decode(line: &str) -> Res<(Value, usize)> {
    let v: Value = serde_json::from_str(line)?;
    let obj = v.as_object().ok_or("not an object")?;
    assert_eq!(obj.len(), 1, "only awslogs: {line:.80}");
    let data = v["awslogs"]["data"].as_str().ok_or("no awslogs.data")?;
    let gz = base64::engine::general_purpose::STANDARD.decode(data)?;
    let mut text = String::new();
    GzDecoder::new(&gz[..]).read_to_string(&mut text)?;
    Ok((serde_json::from_str(&text)?, text.len()))
}

/// (group, stream, id, timestamp, message) of a data log event.
type LogEvent = (String, String, String, i64, String);

/// Every data log event, in order.
fn log_events(run: &Run) -> Res<Vec<LogEvent>> {
    let mut out = Vec::new();
    for line in &run.events {
        let (m, _) = decode(line)?;
        if m["messageType"] != "DATA_MESSAGE" {
            continue;
        }
        for e in m["logEvents"].as_array().ok_or("no logEvents")? {
            out.push((
                m["logGroup"].as_str().unwrap_or_default().to_owned(),
                m["logStream"].as_str().unwrap_or_default().to_owned(),
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["timestamp"].as_i64().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    Ok(out)
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() -> Result<(), NetSimError> {
    // The bulky scenarios (a day of health checks or polls, a flood, a load test) are
    // left out to keep the test quick; every scenario runs in `shared`.
    let bulky = [
        NetScenario::HttpFlood,
        NetScenario::BenignLoadTest,
        NetScenario::BenignHealthChecker,
        NetScenario::BenignMonitoringPoller,
        NetScenario::SynFlood,
    ];
    for src in [NetSource::AccessLog, NetSource::VpcFlow] {
        let cfg = |seed| NetSimConfig {
            scenarios: NetScenario::all(src)
                .into_iter()
                .filter(|s| !bulky.contains(s))
                .collect(),
            ..small(src, seed, 1, 3_000)
        };
        let a = run(&cfg(7))?;
        let b = run(&cfg(7))?;
        assert!(a.summary.attack_events > 0, "{src}");
        assert_eq!(a.events, b.events, "{src}");
        assert_eq!(a.labels, b.labels, "{src}");
        assert_eq!(a.summary, b.summary, "{src}");
        assert_ne!(a.events, run(&cfg(8))?.events, "{src}");
    }
    Ok(())
}

#[test]
fn every_payload_is_a_real_shaped_subscription_message() -> Res<()> {
    for src in [NetSource::AccessLog, NetSource::VpcFlow] {
        let r = shared(src);
        assert_eq!(r.events.len(), r.summary.payloads);
        let mut ids = BTreeSet::new();
        let mut controls = 0;
        for (i, line) in r.events.iter().enumerate() {
            let (m, size) = decode(line)?;
            assert!(
                size <= 1_000_000,
                "{src} payload {i} decodes to {size} bytes"
            );
            let keys: Vec<&str> = m
                .as_object()
                .ok_or("msg")?
                .keys()
                .map(String::as_str)
                .collect();
            for k in [
                "messageType",
                "owner",
                "logGroup",
                "logStream",
                "subscriptionFilters",
                "logEvents",
            ] {
                assert!(keys.contains(&k), "{src} payload {i} lacks {k}");
            }
            let events = m["logEvents"].as_array().ok_or("logEvents")?;
            assert!(!events.is_empty());
            if m["messageType"] == "CONTROL_MESSAGE" {
                assert!(i < 3, "control messages come first");
                controls += 1;
                assert!(
                    events[0]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("CWL CONTROL MESSAGE")
                );
                continue;
            }
            assert_eq!(m["messageType"], "DATA_MESSAGE");
            assert_eq!(m["owner"], "123456789012");
            assert_eq!(m["subscriptionFilters"].as_array().map(Vec::len), Some(1));
            let group = m["logGroup"].as_str().ok_or("group")?;
            let stream = m["logStream"].as_str().ok_or("stream")?;
            match src {
                NetSource::VpcFlow => {
                    assert!(group.starts_with("/aws/vpc/flowlogs/vpc-"), "{group}");
                    assert!(
                        stream.starts_with("eni-") && stream.ends_with("-all"),
                        "{stream}"
                    );
                }
                NetSource::AccessLog => {
                    assert!(group.starts_with("/ecs/"), "{group}");
                    assert_eq!(stream.split('/').count(), 3, "{stream}");
                }
            }
            let mut last = i64::MIN;
            for e in events {
                let id = e["id"].as_str().ok_or("id")?;
                assert_eq!(id.len(), 56, "{id}");
                assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
                assert!(ids.insert(id.to_owned()), "duplicate id {id}");
                let ts = e["timestamp"].as_i64().ok_or("timestamp")?;
                assert!(ts >= last, "timestamps ascend within a payload");
                last = ts;
                assert!(e["message"].is_string());
            }
        }
        let expected_controls = if src == NetSource::AccessLog { 3 } else { 1 };
        assert_eq!(controls, expected_controls, "{src}");
        assert_eq!(controls, r.summary.control_messages);
        assert_eq!(ids.len(), r.summary.events);
        let bytes: u64 = r.events.iter().map(|e| e.len() as u64 + 1).sum();
        assert_eq!(bytes, r.summary.bytes);
    }
    Ok(())
}

#[test]
fn labels_cover_every_log_event_in_delivery_order() -> Res<()> {
    for src in [NetSource::AccessLog, NetSource::VpcFlow] {
        let r = shared(src);
        let events = log_events(r)?;
        assert_eq!(events.len(), r.labels.len(), "{src}");
        for (e, l) in events.iter().zip(&r.labels) {
            assert_eq!(e.2, l.event_id);
        }
        assert_eq!(
            r.summary.attack_events,
            r.labels.iter().filter(|l| l.label == 1).count()
        );
        assert!(
            r.labels
                .iter()
                .filter(|l| l.scenario.is_empty())
                .all(|l| l.label == 0)
        );
    }
    Ok(())
}

#[test]
fn every_scenario_produces_labelled_events() -> Res<()> {
    for src in [NetSource::AccessLog, NetSource::VpcFlow] {
        let r = shared(src);
        let mut count: BTreeMap<&str, (usize, BTreeSet<u8>)> = BTreeMap::new();
        for l in &r.labels {
            let c = count.entry(l.scenario.as_str()).or_default();
            c.0 += 1;
            c.1.insert(l.label);
        }
        for s in NetScenario::all(src) {
            let (n, labels) = count.get(s.name()).cloned().unwrap_or_default();
            assert!(n > 0, "{s} produced no events");
            assert_eq!(labels, BTreeSet::from([s.label()]), "{s} mislabelled");
        }
        assert_eq!(r.summary.scenarios.len(), NetScenario::all(src).len());
        assert!(r.summary.scenarios.iter().all(|(_, n)| *n > 0));
    }
    Ok(())
}

#[test]
fn no_attacks_gives_only_label_zero() -> Result<(), NetSimError> {
    let mut cfg = small(NetSource::AccessLog, 2, 1, 2_000);
    cfg.scenarios = NetScenario::all_benign(NetSource::AccessLog);
    let r = run(&cfg)?;
    assert_eq!(r.summary.attack_events, 0);
    assert!(
        r.labels
            .iter()
            .any(|l| l.scenario == "benign-health-checker")
    );
    Ok(())
}

/// (ip, time, request, status, bytes, referrer, user agent, rest) of a combined line.
type Combined<'a> = (
    &'a str,
    &'a str,
    &'a str,
    u16,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

/// Splits a combined-format line without regexes; `None` when it does not have that shape.
fn combined(line: &str) -> Option<Combined<'_>> {
    let (ip, rest) = line.split_once(" - - [")?;
    let (time, rest) = rest.split_once("] \"")?;
    let (request, rest) = rest.split_once("\" ")?;
    let (status, rest) = rest.split_once(' ')?;
    let (bytes, rest) = rest.split_once(" \"")?;
    let (referrer, rest) = rest.split_once("\" \"")?;
    let (ua, rest) = rest.split_once('"')?;
    Some((
        ip,
        time,
        request,
        status.parse().ok()?,
        bytes,
        referrer,
        ua,
        rest,
    ))
}

fn clf_time_ok(t: &str) -> bool {
    // 04/Mar/2024:10:15:30 +0000
    let b = t.as_bytes();
    t.len() == 26
        && b[2] == b'/'
        && b[6] == b'/'
        && b[11] == b':'
        && t.ends_with(" +0000")
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&&t[3..6])
}

#[test]
fn access_lines_match_nginx_morgan_and_json_formats() -> Res<()> {
    let r = shared(NetSource::AccessLog);
    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses = BTreeSet::new();
    for (group, _, _, ts, msg) in log_events(r)? {
        *per_group.entry(group.clone()).or_default() += 1;
        match group.as_str() {
            "/ecs/nginx-web" | "/ecs/express-api" => {
                let (ip, time, request, status, bytes, _, ua, rest) =
                    combined(&msg).ok_or_else(|| format!("not combined: {msg}"))?;
                assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{msg}");
                assert!(clf_time_ok(time), "{msg}");
                let parts: Vec<&str> = request.split(' ').collect();
                assert_eq!(parts.len(), 3, "{msg}");
                assert!(parts[1].starts_with('/'), "{msg}");
                assert_eq!(parts[2], "HTTP/1.1", "{msg}");
                assert!((100..600).contains(&status), "{msg}");
                assert!(!ua.is_empty(), "{msg}");
                statuses.insert(status);
                if group == "/ecs/nginx-web" {
                    assert!(bytes.parse::<u64>().is_ok(), "{msg}");
                    let rt = rest
                        .strip_prefix(' ')
                        .ok_or_else(|| format!("no request time: {msg}"))?;
                    assert!(rt.parse::<f64>().is_ok() && rt.contains('.'), "{msg}");
                } else {
                    assert!(bytes == "-" || bytes.parse::<u64>().is_ok(), "{msg}");
                    assert!(rest.is_empty(), "{msg}");
                }
            }
            "/ecs/orders-api" => {
                let v: Value = serde_json::from_str(&msg)?;
                for k in [
                    "time",
                    "remote_addr",
                    "method",
                    "url",
                    "status",
                    "user_agent",
                    "response_time",
                ] {
                    assert!(v.get(k).is_some(), "{k} missing: {msg}");
                }
                let t = v["time"].as_str().ok_or("time")?;
                let secs = trailhound_core::timefmt::parse_rfc3339(t).ok_or("bad time")?;
                assert!((ts - secs * 1000).abs() < 2_000, "{msg}");
            }
            other => return Err(format!("unexpected group {other}").into()),
        }
    }
    assert_eq!(per_group.len(), 3, "{per_group:?}");
    for s in [200, 201, 304, 401, 404, 503] {
        assert!(
            statuses.contains(&s),
            "status {s} never seen in {statuses:?}"
        );
    }
    Ok(())
}

#[test]
fn flow_lines_match_the_default_v2_format() -> Res<()> {
    let r = shared(NetSource::VpcFlow);
    let (mut ok, mut nodata, mut skip, mut reject) = (0, 0, 0, 0);
    for (_, stream, _, ts, msg) in log_events(r)? {
        let f: Vec<&str> = msg.split(' ').collect();
        assert_eq!(f.len(), 14, "{msg}");
        assert_eq!(f[0], "2", "{msg}");
        assert_eq!(f[1], "123456789012", "{msg}");
        assert_eq!(format!("{}-all", f[2]), stream, "{msg}");
        let start: i64 = f[10].parse()?;
        let end: i64 = f[11].parse()?;
        assert!(start <= end, "{msg}");
        assert_eq!(ts, start * 1000, "{msg}");
        match f[13] {
            "OK" => {
                ok += 1;
                f[3].parse::<std::net::Ipv4Addr>()?;
                f[4].parse::<std::net::Ipv4Addr>()?;
                f[5].parse::<u16>()?;
                f[6].parse::<u16>()?;
                assert!(matches!(f[7], "1" | "6" | "17"), "{msg}");
                let packets: u64 = f[8].parse()?;
                let bytes: u64 = f[9].parse()?;
                assert!(packets >= 1 && bytes >= 40 * packets.min(1), "{msg}");
                assert!(matches!(f[12], "ACCEPT" | "REJECT"), "{msg}");
                if f[12] == "REJECT" {
                    reject += 1;
                }
            }
            "NODATA" | "SKIPDATA" => {
                assert!(f[3..10].iter().all(|x| *x == "-") && f[12] == "-", "{msg}");
                if f[13] == "NODATA" {
                    nodata += 1;
                } else {
                    skip += 1;
                }
            }
            other => return Err(format!("log-status {other}: {msg}").into()),
        }
    }
    assert!(
        ok > 4_000 && nodata > 0 && skip > 0 && reject > 0,
        "{ok} {nodata} {skip} {reject}"
    );
    Ok(())
}

#[test]
fn a_full_stream_window_is_split_under_the_limits() -> Res<()> {
    let estate = Estate::Flow(Network::new("123456789012"));
    let mut sink = Sink::new(0, "", 0);
    for i in 0..25_000 {
        sink.push(1_709_510_400_000 + i % 50_000, 0, format!("{:0>150}", i));
    }
    let mut events = Vec::new();
    let mut d = Deliver {
        estate: &estate,
        owner: "123456789012",
        enc: cwl::Encoder::new(),
        json: String::new(),
        event: String::new(),
        id: String::new(),
        emit: |e: &str| -> Result<(), NetSimError> {
            events.push(e.to_owned());
            Ok(())
        },
        label: |_| -> Result<(), NetSimError> { Ok(()) },
        summary: NetSummary::default(),
        per_scenario: BTreeMap::new(),
    };
    d.lines(sink.lines)?;
    let summary = d.summary;
    assert_eq!(summary.events, 25_000);
    assert!(events.len() >= 5, "{} payloads", events.len());
    for e in &events {
        let (m, size) = decode(e)?;
        assert!(size <= cwl::MAX_PAYLOAD_BYTES, "{size}");
        assert!(m["logEvents"].as_array().map_or(0, Vec::len) <= cwl::MAX_EVENTS);
    }
    Ok(())
}

#[test]
fn write_dir_writes_events_and_one_label_row_per_log_event() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = small(NetSource::VpcFlow, 2, 1, 1_000);
    cfg.scenarios = vec![NetScenario::PortScan, NetScenario::BenignBackupJob];
    let summary = write_dir(&cfg, dir.path())?;
    let csv = std::fs::read_to_string(dir.path().join("labels.csv"))?;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("event_id,label,scenario"));
    assert_eq!(lines.count(), summary.events);
    assert!(csv.contains(",1,port-scan\n") && csv.contains(",0,benign-backup-job\n"));
    let jsonl = std::fs::read_to_string(dir.path().join("events.jsonl"))?;
    assert_eq!(jsonl.lines().count(), summary.payloads);
    assert_eq!(jsonl.len() as u64, summary.bytes);
    Ok(())
}

#[test]
fn rejects_configs_that_cannot_be_simulated() {
    let base = NetSimConfig::new(NetSource::VpcFlow);
    for cfg in [
        NetSimConfig {
            days: 0,
            ..base.clone()
        },
        NetSimConfig {
            account: "12345".into(),
            ..base.clone()
        },
        NetSimConfig {
            start: 1_709_510_401,
            ..base.clone()
        },
        NetSimConfig {
            scenarios: vec![NetScenario::HttpFlood],
            ..base.clone()
        },
    ] {
        assert!(matches!(
            generate(&cfg, |_| Ok::<(), NetSimError>(()), |_| Ok(())),
            Err(NetSimError::Config(_))
        ));
    }
}
