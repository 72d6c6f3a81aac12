//! CloudWatch Logs subscription payloads, as a Lambda subscription filter delivers
//! them: `{"awslogs":{"data":"<base64(gzip(JSON))>"}}`. The data is decoded and
//! gunzipped behind the payload cap of [`Limits`] (by the one in-memory gunzip,
//! [`decode::gunzip_into`]), then parsed with borrowed strings
//! into a [`Subscription`]: owner, log group and stream, and the log events.
//!
//! Which parser a log group needs is configuration: a [`SourceMap`] of glob patterns
//! (`/aws/vpc/*=vpcflow,*nginx*=access_log`), first match wins, with content sniffing
//! of a sample message as the fallback.

mod route;

pub use route::{LogSource, Route, SourceMap, SourceMapError, UnknownSource};

use base64::Engine as _;
use serde::Deserialize;
use std::borrow::Cow;

use crate::decode::{self, DecodeError, Limits};

/// Why a subscription event could not be decoded. Messages describe the problem and
/// where it is, never the content of the logs.
#[derive(Debug, thiserror::Error)]
pub enum CwlError {
    /// The Lambda event is not JSON or has no `awslogs.data` string.
    #[error(
        "event is not a CloudWatch Logs subscription event: no awslogs.data string (line {line}, column {column})"
    )]
    NotLambdaEvent {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// `awslogs.data` is not base64.
    #[error("awslogs.data is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// The decoded data is not a gzip stream, or the stream is corrupt or cut short.
    #[error("awslogs.data is not a valid gzip stream")]
    Gzip(#[source] std::io::Error),
    /// The data inflates past the configured cap.
    #[error("decompressed subscription payload exceeds the cap of {cap} bytes")]
    TooLarge {
        /// The cap in force.
        cap: u64,
    },
    /// The payload is not UTF-8 text.
    #[error("payload is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The payload is not a subscription message (not JSON, truncated, a field
    /// missing or of the wrong type, an unknown `messageType`).
    #[error("payload is not a CloudWatch Logs subscription message (line {line}, column {column})")]
    NotSubscription {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
}

impl CwlError {
    fn not_event(e: &serde_json::Error) -> Self {
        CwlError::NotLambdaEvent {
            line: e.line(),
            column: e.column(),
        }
    }

    fn not_subscription(e: &serde_json::Error) -> Self {
        CwlError::NotSubscription {
            line: e.line(),
            column: e.column(),
        }
    }
}

/// A decompressed subscription payload: owns the JSON bytes that a
/// [`Subscription`] borrows from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    json: Vec<u8>,
}

#[derive(Deserialize)]
struct LambdaEvent<'a> {
    #[serde(borrow)]
    awslogs: AwsLogs<'a>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// Base64 as CloudWatch Logs writes it (standard alphabet), padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Decodes a Lambda subscription event (`{"awslogs":{"data":"…"}}`, other keys
/// ignored): base64, then gunzip capped at `limits.max_payload_bytes`.
pub fn decode_lambda_event(event_json: &[u8], limits: &Limits) -> Result<Payload, CwlError> {
    let mut payload = Payload::default();
    Decoder::default().decode_event(event_json, limits, &mut payload)?;
    Ok(payload)
}

/// Decodes the `awslogs.data` string itself (base64 of gzip), capped.
pub fn decode_data(data: &str, limits: &Limits) -> Result<Payload, CwlError> {
    let mut payload = Payload::default();
    Decoder::default().decode_data(data, limits, &mut payload)?;
    Ok(payload)
}

/// Decoding state kept across payloads: the inflater (with its window) and the
/// buffer of the gzip bytes, so a stream of small payloads allocates nothing per
/// payload once the buffers have grown. Behaves as [`decode_lambda_event`].
#[derive(Debug)]
pub struct Decoder {
    inflate: flate2::Decompress,
    gz: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            inflate: flate2::Decompress::new(false),
            gz: Vec::new(),
        }
    }
}

fn bad_gzip(what: &'static str) -> CwlError {
    CwlError::Gzip(std::io::Error::new(std::io::ErrorKind::InvalidData, what))
}

impl Decoder {
    /// Decodes a Lambda subscription event into `out` (its buffer is reused).
    pub fn decode_event(
        &mut self,
        event_json: &[u8],
        limits: &Limits,
        out: &mut Payload,
    ) -> Result<(), CwlError> {
        let event: LambdaEvent<'_> =
            serde_json::from_slice(event_json).map_err(|e| CwlError::not_event(&e))?;
        self.decode_data(&event.awslogs.data, limits, out)
    }

    /// Decodes the `awslogs.data` string (base64 of gzip) into `out`, capped.
    pub fn decode_data(
        &mut self,
        data: &str,
        limits: &Limits,
        out: &mut Payload,
    ) -> Result<(), CwlError> {
        self.gz.clear();
        BASE64
            .decode_vec(data.trim().as_bytes(), &mut self.gz)
            .map_err(CwlError::Base64)?;
        if !self.gz.starts_with(&[0x1f, 0x8b]) {
            return Err(bad_gzip("missing gzip magic bytes"));
        }
        let cap = usize::try_from(limits.max_payload_bytes).unwrap_or(usize::MAX);
        decode::gunzip_into(&mut self.inflate, &self.gz, cap, &mut out.json).map_err(|e| match e {
            DecodeError::TooLarge { cap } => CwlError::TooLarge { cap },
            DecodeError::Io(e) => CwlError::Gzip(e),
        })
    }
}

impl Payload {
    /// Wraps already-decompressed payload JSON (the `DATA_MESSAGE` document).
    pub fn from_json(json: impl Into<Vec<u8>>) -> Self {
        Self { json: json.into() }
    }

    /// The decompressed JSON.
    pub fn as_bytes(&self) -> &[u8] {
        &self.json
    }

    /// Bytes the payload's buffer holds allocated (at least [`len`](Self::len)).
    pub fn capacity(&self) -> usize {
        self.json.capacity()
    }

    /// Decompressed size in bytes.
    pub fn len(&self) -> usize {
        self.json.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    /// Parses the payload, borrowing its strings.
    pub fn parse(&self) -> Result<Subscription<'_>, CwlError> {
        // One UTF-8 check of the whole payload is cheaper than serde_json's check of
        // every string it borrows.
        let text = std::str::from_utf8(&self.json).map_err(|e| CwlError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        serde_json::from_str(text).map_err(|e| CwlError::not_subscription(&e))
    }
}

/// `DATA_MESSAGE` or `CONTROL_MESSAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum MessageType {
    /// Log events to process.
    #[serde(rename = "DATA_MESSAGE")]
    Data,
    /// A reachability check CloudWatch Logs sends when a subscription is created:
    /// acknowledge and ignore.
    #[serde(rename = "CONTROL_MESSAGE")]
    Control,
}

/// One subscription message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription<'a> {
    /// Data or control.
    pub message_type: MessageType,
    /// Account id of the log group (`CloudwatchLogs` on control messages).
    #[serde(borrow)]
    pub owner: Cow<'a, str>,
    /// Log group name.
    #[serde(borrow)]
    pub log_group: Cow<'a, str>,
    /// Log stream name.
    #[serde(borrow)]
    pub log_stream: Cow<'a, str>,
    /// Names of the subscription filters that matched.
    #[serde(borrow, default)]
    pub subscription_filters: Vec<Cow<'a, str>>,
    /// The log events, in order.
    #[serde(borrow)]
    pub log_events: Vec<LogEvent<'a>>,
}

/// One log event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogEvent<'a> {
    /// CloudWatch Logs event id (a long decimal string; empty on control messages).
    #[serde(borrow)]
    pub id: &'a str,
    /// Ingestion timestamp of the event, epoch milliseconds.
    pub timestamp: i64,
    /// The log line (owned only when the JSON string has escapes, e.g. `\"`).
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

impl Subscription<'_> {
    /// Whether this is a control message (to acknowledge and ignore).
    pub fn is_control(&self) -> bool {
        self.message_type == MessageType::Control
    }
}

#[cfg(test)]
mod tests {
    use super::route::glob_match;
    use super::*;
    use crate::sources::access_log::AccessFormat;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn event(payload: &[u8]) -> Vec<u8> {
        let data = base64::engine::general_purpose::STANDARD.encode(gzip(payload));
        format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#).into_bytes()
    }

    const DATA: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/vpc/flowlogs","logStream":"eni-0a1b2c3d-all","subscriptionFilters":["to-trailhound"],"logEvents":[{"id":"37958263527402374582830239374810391620474282186015965184","timestamp":1709547361000,"message":"2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.2.9 443 49152 6 10 840 1709547300 1709547360 ACCEPT OK"},{"id":"37958263527402374582830239374810391620474282186015965185","timestamp":1709547361001,"message":"{\"eventVersion\":\"1.09\",\"a\":\"b\\\\c\"}"}]}"#;

    #[test]
    fn decodes_a_lambda_event_into_borrowed_log_events() {
        let payload = decode_lambda_event(&event(DATA.as_bytes()), &Limits::default()).unwrap();
        assert_eq!(payload.as_bytes(), DATA.as_bytes());
        let sub = payload.parse().unwrap();
        assert_eq!(sub.message_type, MessageType::Data);
        assert!(!sub.is_control());
        assert_eq!(sub.owner, "123456789012");
        assert_eq!(sub.log_group, "/aws/vpc/flowlogs");
        assert_eq!(sub.log_stream, "eni-0a1b2c3d-all");
        assert_eq!(sub.subscription_filters, vec!["to-trailhound"]);
        assert_eq!(sub.log_events.len(), 2);
        let first = &sub.log_events[0];
        assert_eq!(
            first.id,
            "37958263527402374582830239374810391620474282186015965184"
        );
        assert_eq!(first.timestamp, 1_709_547_361_000);
        assert!(
            matches!(first.message, Cow::Borrowed(_)),
            "plain messages borrow"
        );
        assert_eq!(
            sub.log_events[1].message,
            r#"{"eventVersion":"1.09","a":"b\\c"}"#
        );
        assert!(matches!(sub.log_events[1].message, Cow::Owned(_)));
    }

    #[test]
    fn ignores_fields_it_does_not_use() {
        // Account-level subscription policies add `policyLevel`; future fields too.
        let json = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"policyLevel":"ACCOUNT_LEVEL_POLICY","logEvents":[{"id":"1","timestamp":5,"message":"m","extractedFields":{"a":"b"}}]}"#;
        let p = Payload::from_json(json);
        let sub = p.parse().unwrap();
        assert_eq!(sub.log_events[0].message, "m");
        assert_eq!(sub.log_events[0].timestamp, 5);
    }

    #[test]
    fn recognises_control_messages() {
        let ctl = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1709547300000,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}"#;
        let p = decode_lambda_event(&event(ctl.as_bytes()), &Limits::default()).unwrap();
        let sub = p.parse().unwrap();
        assert!(sub.is_control());
        assert_eq!(sub.message_type, MessageType::Control);
    }

    #[test]
    fn malformed_events_give_clear_errors_without_log_content() {
        let secret = "2 123456789012 eni-SECRET 10.9.9.9";
        let not_sub = format!(r#"{{"messageType":"DATA_MESSAGE","logEvents":"{secret}"}}"#);
        let mut bad_gzip = gzip(DATA.as_bytes());
        let n = bad_gzip.len();
        bad_gzip[n / 2] ^= 0x55;
        bad_gzip.truncate(n - 6);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let with_data = |d: String| format!(r#"{{"awslogs":{{"data":"{d}"}}}}"#).into_bytes();
        let truncated_json = &DATA.as_bytes()[..DATA.len() - 40];
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("not json", b"GET / HTTP/1.1".to_vec(), "not a CloudWatch Logs subscription event"),
            ("no awslogs", br#"{"Records":[]}"#.to_vec(), "no awslogs.data"),
            ("data not a string", br#"{"awslogs":{"data":5}}"#.to_vec(), "no awslogs.data"),
            ("bad base64", with_data("H4sI!!!notbase64".into()), "not valid base64"),
            ("not gzip", with_data(b64(DATA.as_bytes())), "not a valid gzip stream"),
            ("corrupt gzip", with_data(b64(&bad_gzip)), "not a valid gzip stream"),
            ("truncated json", event(truncated_json), "not a CloudWatch Logs subscription message"),
            ("not a subscription", event(not_sub.as_bytes()), "not a CloudWatch Logs subscription message"),
            (
                "unknown message type",
                event(br#"{"messageType":"OTHER","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#),
                "not a CloudWatch Logs subscription message",
            ),
        ];
        for (name, ev, want) in cases {
            let err = match decode_lambda_event(&ev, &Limits::default()).and_then(|p| {
                p.parse()?;
                Ok(())
            }) {
                Err(e) => e,
                Ok(()) => panic!("{name}: decoded"),
            };
            let msg = err.to_string();
            assert!(msg.contains(want), "{name}: {msg}");
            assert!(
                !msg.contains("SECRET") && !msg.contains("10.9.9.9"),
                "{name} leaks: {msg}"
            );
        }
    }

    #[test]
    fn refuses_a_payload_that_is_not_utf8() {
        let mut bytes = DATA.as_bytes().to_vec();
        bytes[40] = 0xff;
        let p = decode_lambda_event(&event(&bytes), &Limits::default()).unwrap();
        match p.parse() {
            Err(CwlError::NotUtf8 { offset }) => assert_eq!(offset, 40),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }

    #[test]
    fn one_decoder_reused_across_payloads_decodes_each_alike() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let limits = Limits::default();
        // Two members read as one stream; a header with a file name and a comment.
        let mut two = gzip(&DATA.as_bytes()[..40]);
        two.extend(gzip(&DATA.as_bytes()[40..]));
        let mut named = gzip(DATA.as_bytes());
        named[3] = 8 | 16;
        let named: Vec<u8> = named[..10]
            .iter()
            .chain(b"events.json\0a comment\0")
            .chain(&named[10..])
            .copied()
            .collect();
        let mut bad_crc = gzip(DATA.as_bytes());
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut dec = Decoder::default();
        let mut out = Payload::default();
        for (round, gz) in [gzip(DATA.as_bytes()), two, named].iter().enumerate() {
            dec.decode_data(&b64(gz), &limits, &mut out).unwrap();
            assert_eq!(out.as_bytes(), DATA.as_bytes(), "round {round}");
            // A corrupt payload in between leaves the decoder usable.
            let err = dec
                .decode_data(&b64(&bad_crc), &limits, &mut out)
                .unwrap_err();
            assert!(err.to_string().contains("not a valid gzip stream"), "{err}");
        }
        let small = Limits {
            max_payload_bytes: DATA.len() as u64,
            ..Limits::default()
        };
        dec.decode_data(&b64(&gzip(DATA.as_bytes())), &small, &mut out)
            .unwrap();
        assert_eq!(out.len(), DATA.len(), "exactly the cap is allowed");
        let smaller = Limits {
            max_payload_bytes: DATA.len() as u64 - 1,
            ..Limits::default()
        };
        assert!(matches!(
            dec.decode_data(&b64(&gzip(DATA.as_bytes())), &smaller, &mut out),
            Err(CwlError::TooLarge { .. })
        ));
    }

    #[test]
    fn stops_a_decompression_bomb_at_the_cap() {
        // 16 MiB of one letter after a valid prefix gzip to about 16 KiB.
        let mut bomb = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":""#.to_vec();
        bomb.resize(16 << 20, b'A');
        let ev = event(&bomb);
        assert!(ev.len() < 1 << 20, "the event itself is small");
        let limits = Limits {
            max_payload_bytes: 1 << 20,
            ..Limits::default()
        };
        match decode_lambda_event(&ev, &limits) {
            Err(CwlError::TooLarge { cap }) => assert_eq!(cap, 1 << 20),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn accepts_unpadded_base64_and_escaped_slashes() {
        let data = base64::engine::general_purpose::STANDARD_NO_PAD.encode(gzip(DATA.as_bytes()));
        let ev = format!(r#"{{"awslogs":{{"data":"{}"}}}}"#, data.replace('/', "\\/"));
        let p = decode_lambda_event(ev.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(p.parse().unwrap().log_events.len(), 2);
    }

    #[test]
    fn log_source_names_round_trip() {
        for s in [
            LogSource::CloudTrail,
            LogSource::VpcFlow,
            LogSource::AccessLog,
        ] {
            assert_eq!(s.as_str().parse::<LogSource>(), Ok(s));
        }
        assert_eq!("access-log".parse::<LogSource>(), Ok(LogSource::AccessLog));
        assert!("waf".parse::<LogSource>().is_err());
    }

    #[test]
    fn globs_match_like_shell_stars() {
        let cases = [
            ("/aws/vpc/*", "/aws/vpc/flowlogs", true),
            ("/aws/vpc/*", "/aws/vpcx", false),
            ("*nginx*", "/ecs/shop/nginx-access", true),
            ("*nginx*", "nginx", true),
            ("*nginx*", "/ecs/shop/ngin", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*b*c", "a-b-c", true),
            ("a*b*c", "a-c-b", false),
            ("a*a", "a", false),
            ("*", "", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn source_map_first_match_wins_then_sniffs() {
        let map = SourceMap::parse(
            " /aws/vpc/custom/*=vpcflow:${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} , /aws/vpc/*=vpcflow,*nginx*=access_log:nginx,*=access-log ",
        )
        .unwrap();
        assert_eq!(
            map.resolve("/aws/vpc/flowlogs", ""),
            Some(LogSource::VpcFlow)
        );
        match map.route("/aws/vpc/custom/a", "") {
            Some(Route::VpcFlow(f)) => assert_eq!(f.fields().len(), 10),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            map.route("/ecs/nginx", ""),
            Some(Route::AccessLog(AccessFormat::NginxCombined))
        );
        assert_eq!(
            map.route("/other", "x"),
            Some(Route::AccessLog(AccessFormat::Auto))
        );
    }

    #[test]
    fn sniffs_each_source_and_gives_up_on_the_unknown() {
        let map = SourceMap::parse(
            "/custom=vpcflow:${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${flow-direction}",
        )
        .unwrap();
        let cases: &[(&str, Option<LogSource>)] = &[
            (
                r#"{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#,
                Some(LogSource::CloudTrail),
            ),
            (
                "2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.2.9 443 49152 6 10 840 1709547300 1709547360 ACCEPT OK",
                Some(LogSource::VpcFlow),
            ),
            (
                "2 123456789012 eni-0a1b2c3d - - - - - - - 1709547300 1709547360 - NODATA",
                Some(LogSource::VpcFlow),
            ),
            (
                "5 10.0.1.5 10.0.2.9 443 49152 6 10 840 1709547300 1709547360 REJECT ingress",
                Some(LogSource::VpcFlow),
            ),
            (
                r#"203.0.113.7 - - [04/Mar/2024:10:15:30 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0""#,
                Some(LogSource::AccessLog),
            ),
            (
                r#"{"remote_addr":"203.0.113.7","method":"GET","url":"/","status":200}"#,
                Some(LogSource::AccessLog),
            ),
            ("START RequestId: 6bd7f3e2 Version: $LATEST", None),
            (r#"{"level":"info","msg":"listening"}"#, None),
            ("", None),
        ];
        for (sample, want) in cases {
            assert_eq!(map.resolve("/unmapped", sample), *want, "{sample:?}");
        }
    }

    #[test]
    fn source_map_errors_name_the_bad_entry() {
        let cases = [
            ("/aws/vpc/*=vpcflow,*nginx*", "`*nginx*`", "PATTERN=SOURCE"),
            ("*=waf", "`*=waf`", "unknown log source `waf`"),
            ("=vpcflow", "`=vpcflow`", "empty pattern"),
            (
                "*=vpcflow:${version} ${nope}",
                "${nope}",
                "unknown flow log field `nope`",
            ),
            ("*=access_log:apache", "apache", "unknown access log format"),
            ("*=cloudtrail:json", "cloudtrail:json", "takes no format"),
        ];
        for (spec, entry, reason) in cases {
            let msg = SourceMap::parse(spec).unwrap_err().to_string();
            assert!(msg.contains(entry) && msg.contains(reason), "{spec}: {msg}");
        }
        assert_eq!(SourceMap::parse("").unwrap(), SourceMap::default());
    }
}
