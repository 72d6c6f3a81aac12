//! Parse throughput of the CloudWatch Logs sources: flow log lines (default and custom
//! formats), access log lines (nginx combined, morgan JSON), payload inspection, and
//! a whole subscription event (base64, gunzip, JSON, every line parsed). Prints lines
//! per CPU-second of one core beside criterion's own report.
//!
//! Run with `cargo bench -p trailhound-core --bench sources`.

#![allow(clippy::unwrap_used, reason = "a bench fails loudly")]

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailhound_core::decode::{self, Limits};
use trailhound_core::sources::access_log::{self, AccessFormat};
use trailhound_core::sources::cwl;
use trailhound_core::sources::vpcflow::{FlowFormat, FlowLine};
use trailhound_core::sources::web_payload;

const LINES: usize = 200_000;

/// A small deterministic generator (xorshift64*), so the bench needs no seed handling.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CUSTOM: &str = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}";

fn flow_lines(g: &mut Gen, custom: bool) -> Vec<String> {
    (0..LINES)
        .map(|i| {
            let src = format!("10.0.{}.{}", g.below(16), g.below(250) + 1);
            let dst = format!("{}.{}.{}.{}", 52 + g.below(4), g.below(256), g.below(256), g.below(256));
            let (sp, dp) = (1024 + g.below(60000), [443, 80, 22, 5432, 53][g.below(5) as usize]);
            let (pk, by) = (1 + g.below(200), 40 + g.below(200_000));
            let t = 1_709_547_300 + (i as u64 / 100) * 60;
            let action = if g.below(10) == 0 { "REJECT" } else { "ACCEPT" };
            if custom {
                format!(
                    "5 vpc-0c1d2e3f4a5b6c7d8 subnet-0aa1bb2cc3dd4ee5f i-0123456789abcdef0 eni-0f4c3a2b1d9e8f701 123456789012 IPv4 {src} {dst} {sp} {dp} {src} {dst} 6 {by} {pk} {t} {} {action} 19 OK us-east-1 use1-az2 - - - - egress 1",
                    t + 60
                )
            } else {
                format!(
                    "2 123456789012 eni-0f4c3a2b1d9e8f701 {src} {dst} {sp} {dp} 6 {pk} {by} {t} {} {action} OK",
                    t + 60
                )
            }
        })
        .collect()
}

const PATHS: &[&str] = &[
    "/",
    "/products/42",
    "/api/cart",
    "/api/orders?id=42&sort=desc",
    "/search?q=running+shoes&page=2",
    "/static/app.3f2a1b.js",
    "/login",
    "/images/banner%20spring.png",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "ELB-HealthChecker/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];

fn nginx_lines(g: &mut Gen) -> Vec<String> {
    (0..LINES)
        .map(|i| {
            format!(
                "203.0.{}.{} - - [04/Mar/2024:10:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" {} {} \"https://shop.example.com/\" \"{}\" 0.0{:02}",
                g.below(256),
                g.below(256),
                (i / 60) % 60,
                i % 60,
                PATHS[g.below(PATHS.len() as u64) as usize],
                [200, 200, 200, 304, 404][g.below(5) as usize],
                g.below(50_000),
                AGENTS[g.below(AGENTS.len() as u64) as usize],
                g.below(100)
            )
        })
        .collect()
}

fn json_lines(g: &mut Gen) -> Vec<String> {
    (0..LINES)
        .map(|_| {
            format!(
                r#"{{"remote_addr":"203.0.{}.{}","time":"2024-03-04T10:15:30.512Z","method":"GET","url":"{}","http_version":"1.1","status":200,"content_length":"{}","referrer":"https://shop.example.com/","user_agent":"{}","response_time":"3.120"}}"#,
                g.below(256),
                g.below(256),
                PATHS[g.below(PATHS.len() as u64) as usize],
                g.below(50_000),
                AGENTS[g.below(AGENTS.len() as u64) as usize],
            )
        })
        .collect()
}

/// A Lambda event carrying `lines` as one subscription payload.
fn lambda_event(lines: &[String]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Ev<'a> {
        id: String,
        timestamp: i64,
        message: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload<'a> {
        message_type: &'static str,
        owner: &'static str,
        log_group: &'static str,
        log_stream: &'static str,
        subscription_filters: [&'static str; 1],
        log_events: Vec<Ev<'a>>,
    }
    let payload = Payload {
        message_type: "DATA_MESSAGE",
        owner: "123456789012",
        log_group: "/aws/vpc/flowlogs/prod",
        log_stream: "eni-0f4c3a2b1d9e8f701-all",
        subscription_filters: ["to-trailhound"],
        log_events: lines
            .iter()
            .enumerate()
            .map(|(i, m)| Ev {
                id: format!("3795826352740237458283023937481039162047428218601{i:07}"),
                timestamp: 1_709_547_361_000 + i as i64,
                message: m,
            })
            .collect(),
    };
    let json = serde_json::to_vec(&payload).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#).into_bytes()
}

/// CPU seconds of this thread (Linux; `None` elsewhere), in clock ticks of 10 ms.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// Runs `f` (which handles `n` lines) until at least one CPU-second has passed and
/// prints lines per CPU-second and per wall-second.
fn report(name: &str, n: usize, mut f: impl FnMut() -> usize) {
    let (t, c) = (Instant::now(), thread_cpu_seconds());
    let (mut runs, mut check) = (0usize, 0usize);
    loop {
        check = check.wrapping_add(f());
        runs += 1;
        let cpu = thread_cpu_seconds().zip(c).map_or(f64::NAN, |(b, a)| b - a);
        if cpu >= 1.0 || t.elapsed().as_secs_f64() >= 3.0 {
            let wall = t.elapsed().as_secs_f64();
            let lines = (n * runs) as f64;
            println!(
                "{name:<28} {:>7.2} M lines/CPU-s  {:>7.2} M lines/wall-s  ({runs} runs of {n}, check {check})",
                lines / cpu / 1e6,
                lines / wall / 1e6,
            );
            return;
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let flow = flow_lines(&mut g, false);
    let custom = flow_lines(&mut g, true);
    let nginx = nginx_lines(&mut g);
    let json = json_lines(&mut g);
    let v2 = FlowFormat::default();
    let v5 = FlowFormat::parse(CUSTOM).unwrap();
    let parse_flow = |fmt: &FlowFormat, lines: &[String]| {
        lines
            .iter()
            .filter(|l| matches!(fmt.parse_line(l), Ok(FlowLine::Record(_))))
            .count()
    };
    let parse_access = |fmt, lines: &[String]| {
        lines
            .iter()
            .filter(|l| access_log::parse_line(l, fmt).is_ok())
            .count()
    };
    let records: Vec<_> = nginx
        .iter()
        .map(|l| access_log::parse_line(l, AccessFormat::NginxCombined).unwrap())
        .collect();
    let inspect = || {
        records
            .iter()
            .filter(|r| {
                !web_payload::inspect(&r.path, r.query.as_deref(), &r.user_agent).is_empty()
            })
            .count()
    };
    // One subscription payload of 10,000 flow lines (about 1 MB decompressed, the
    // order of a real CloudWatch Logs delivery).
    let event = lambda_event(&flow[..10_000]);
    let limits = Limits::default();
    let whole_event = || {
        let payload = cwl::decode_lambda_event(black_box(&event), &limits).unwrap();
        let sub = payload.parse().unwrap();
        sub.log_events
            .iter()
            .filter(|e| v2.parse_line(&e.message).is_ok())
            .count()
    };

    report("vpcflow v2", LINES, || parse_flow(&v2, &flow));
    report("vpcflow custom v5", LINES, || parse_flow(&v5, &custom));
    report("access nginx combined", LINES, || {
        parse_access(AccessFormat::NginxCombined, &nginx)
    });
    report("access morgan json", LINES, || {
        parse_access(AccessFormat::MorganJson, &json)
    });
    report("web payload inspect", LINES, inspect);
    report("  of which path and query", LINES, || {
        records
            .iter()
            .filter(|r| !web_payload::inspect_url(&r.path, r.query.as_deref()).is_empty())
            .count()
    });
    report("cwl event: decode+parse v2", 10_000, whole_event);
    // The gunzip alone, with the output grown as produced (as payloads are) and
    // pre-sized to the trailer's size claim (the old policy): the price of not
    // trusting the claim.
    let gz = {
        let v: serde_json::Value = serde_json::from_slice(&event).unwrap();
        let data = v["awslogs"]["data"].as_str().unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
    };
    let claim = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap()) as usize;
    let mut inflate = flate2::Decompress::new(false);
    let mut gunzip = |out: &mut Vec<u8>| {
        decode::gunzip_into(&mut inflate, black_box(&gz), 16 << 20, out).unwrap();
        out.len() / claim
    };
    report("cwl gunzip, grown as produced", 10_000, || {
        gunzip(&mut Vec::new())
    });
    report("cwl gunzip, sized by the claim", 10_000, || {
        gunzip(&mut Vec::with_capacity(claim + 1))
    });

    let mut group = c.benchmark_group("sources");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("vpcflow_v2", |b| {
        b.iter(|| parse_flow(&v2, black_box(&flow)))
    });
    group.bench_function("access_nginx", |b| {
        b.iter(|| parse_access(AccessFormat::NginxCombined, black_box(&nginx)))
    });
    group.bench_function("access_morgan_json", |b| {
        b.iter(|| parse_access(AccessFormat::MorganJson, black_box(&json)))
    });
    group.bench_function("web_payload_inspect", |b| b.iter(inspect));
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("cwl_event_10k_flow", |b| b.iter(whole_event));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
