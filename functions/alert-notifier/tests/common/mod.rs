//! Test helpers: a recording HTTP server on loopback standing in for Slack, a sleeper
//! that records waits instead of sleeping, and moto clients.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer of the fake Slack.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'static str,
}

impl Reply {
    pub fn new(status: u16, body: &'static str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
        }
    }
    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// A loopback HTTP server that answers with a script (the last reply repeats) and
/// records every request body and path.
pub struct FakeSlack {
    pub addr: SocketAddr,
    posts: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
}

impl FakeSlack {
    pub fn start(script: Vec<Reply>) -> FakeSlack {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (posts.clone(), stop.clone());
        std::thread::spawn(move || {
            let served = AtomicUsize::new(0);
            // Bounded: a test never needs more than a few hundred requests.
            for stream in listener.incoming().take(500) {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let n = served.fetch_add(1, Ordering::SeqCst);
                let reply = script[n.min(script.len() - 1)].clone();
                if let Some(req) = serve_one(stream, &reply) {
                    p.lock().unwrap().push(req);
                }
            }
        });
        FakeSlack { addr, posts, stop }
    }

    /// The webhook URL of this server, with a secret-looking path.
    pub fn url(&self) -> String {
        format!("http://{}/services/T000/B000/sekrit-token", self.addr)
    }

    /// Request bodies received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so the thread ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve_one(stream: TcpStream, reply: &Reply) -> Option<(String, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes()).ok()?;
    out.write_all(reply.body.as_bytes()).ok()?;
    out.flush().ok()?;
    Some((path, String::from_utf8_lossy(&body).into_owned()))
}

/// Records the waits it is asked for and returns at once.
#[derive(Debug, Clone, Default)]
pub struct RecordingSleep(pub Arc<Mutex<Vec<Duration>>>);

impl alert_notifier::deliver::Sleep for RecordingSleep {
    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
        self.0.lock().unwrap().push(d);
        std::future::ready(())
    }
}

impl RecordingSleep {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// The sample SNS alert event shipped in `infra/events/`, with its finding replaced.
pub fn sns_event_with(finding: &serde_json::Value) -> aws_lambda_events::event::sns::SnsEvent {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/events/sns-alert.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
    event["Records"][0]["Sns"]["Message"] = serde_json::Value::String(finding.to_string());
    serde_json::from_value(event).unwrap()
}

/// A finding as the ingest functions publish it.
pub fn finding(severity: &str) -> serde_json::Value {
    serde_json::json!({
        "finding_id": "9b2f0c4e7d1a43c8a1f05e6d2c3b4a59",
        "event_id": "5f4d6c1e-0000-4000-8000-000000000001",
        "source": "cloudtrail", "time": "2024-03-04T10:15:30Z",
        "account": "123456789012", "region": "us-east-1",
        "principal": "arn:aws:iam::123456789012:user/alice",
        "action": "cloudtrail:StopLogging", "score": 0.97,
        "severity": severity, "severity_score": 9.3,
        "detections": [{"id": "ct.logging.stop_logging", "technique": "T1562.008"}],
        "reasons": ["CloudTrail logging was stopped on the organisation trail"],
        "model_version": "cloudtrail-2024-03-01"
    })
}

/// The moto endpoint exported by `scripts/test.sh`. `None` means skip, except in CI,
/// where a missing emulator is a failure rather than a silent pass.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("TRAILHOUND_MOTO_ENDPOINT") {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{test}: TRAILHOUND_MOTO_ENDPOINT is unset in CI; run scripts/test.sh")
        }
        _ => {
            eprintln!("skipped {test}: TRAILHOUND_MOTO_ENDPOINT is unset (run scripts/test.sh)");
            None
        }
    }
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

macro_rules! moto_client {
    ($name:ident, $krate:ident) => {
        pub fn $name(endpoint: &str) -> $krate::Client {
            let config = $krate::Config::builder()
                .behavior_version_latest()
                .endpoint_url(endpoint)
                .region($krate::config::Region::new("us-east-1"))
                .credentials_provider($krate::config::Credentials::new(
                    "testing", "testing", None, None, "moto",
                ))
                .build();
            $krate::Client::from_conf(config)
        }
    };
}

moto_client!(ssm_client, aws_sdk_ssm);
moto_client!(sns_client, aws_sdk_sns);
moto_client!(sqs_client, aws_sdk_sqs);
