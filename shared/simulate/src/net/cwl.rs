//! CloudWatch Logs subscription payloads as a Lambda receives them:
//! `{"awslogs":{"data":"<base64(gzip(message))>"}}`, where the message is
//! `{"messageType":"DATA_MESSAGE","owner":…,"logGroup":…,"logStream":…,
//! "subscriptionFilters":[…],"logEvents":[{"id":…,"timestamp":…,"message":…}]}`.
//!
//! Event ids are 56-digit decimal numbers like CloudWatch's: the event's
//! millisecond timestamp shifted left by 144 bits, plus a per-stream salt and a
//! running sequence number in the low bits, so ids sort by time and never repeat.

use base64::Engine;
use flate2::{Compress, Compression, FlushCompress, Status};
use std::fmt::Write;

/// Most log events in one payload (the `PutLogEvents` batch limit).
pub(crate) const MAX_EVENTS: usize = 10_000;
/// Most bytes of one decoded payload; CloudWatch's own limit is 1 MiB.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 1_000_000;
/// The message of the health check CloudWatch sends when a subscription is created.
pub(crate) const CONTROL_TEXT: &str =
    "CWL CONTROL MESSAGE: Checking health of destination Lambda function.";

/// The CloudWatch Logs id of an event at `ms` (epoch milliseconds), made unique by
/// `salt` (per stream) and `seq` (per run).
pub(crate) fn event_id(ms: i64, salt: u64, seq: u64, out: &mut String) {
    // 192-bit number, little-endian limbs: ms << 144 | salt << 64 | seq.
    let ms = ms.max(0) as u64;
    let mut limbs = [seq, salt, (ms << 16) | (salt >> 48)];
    let mut groups = [0u64; 3];
    const TEN19: u128 = 10_000_000_000_000_000_000;
    for g in &mut groups {
        let mut rem: u128 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            // cur < 10^19 * 2^64, so the quotient fits 64 bits.
            *limb = (cur / TEN19) as u64;
            rem = cur % TEN19;
        }
        *g = rem as u64;
    }
    let top = limbs[0];
    if top > 0 {
        let _ = write!(
            out,
            "{top}{:019}{:019}{:019}",
            groups[2], groups[1], groups[0]
        );
    } else if groups[2] > 0 {
        let _ = write!(out, "{}{:019}{:019}", groups[2], groups[1], groups[0]);
    } else if groups[1] > 0 {
        let _ = write!(out, "{}{:019}", groups[1], groups[0]);
    } else {
        let _ = write!(out, "{}", groups[0]);
    }
}

/// Appends `s` as a JSON string body (without quotes).
pub(crate) fn escape_json(s: &str, out: &mut String) {
    // Log lines rarely hold control characters: check that in one vectorised pass,
    // then only quotes and backslashes need escaping.
    if s.bytes().fold(u8::MAX, u8::min) >= 0x20 {
        let mut rest = s;
        while let Some(i) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) {
            out.push_str(&rest[..i]);
            out.push('\\');
            out.push_str(&rest[i..=i]);
            rest = &rest[i + 1..];
        }
        out.push_str(rest);
        return;
    }
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Turns payload JSON into a Lambda event line, reusing one deflate state.
pub(crate) struct Encoder {
    deflate: Compress,
    gz: Vec<u8>,
}

impl Encoder {
    /// A new encoder (gzip level 1: payloads are small and generation must be fast).
    pub(crate) fn new() -> Self {
        Self {
            deflate: Compress::new(Compression::new(1), false),
            gz: Vec::with_capacity(1 << 16),
        }
    }

    /// `{"awslogs":{"data":"<base64(gzip(json))>"}}` appended to `out`.
    pub(crate) fn lambda_event(&mut self, json: &[u8], out: &mut String) -> std::io::Result<()> {
        self.gzip(json)?;
        out.push_str("{\"awslogs\":{\"data\":\"");
        base64::engine::general_purpose::STANDARD.encode_string(&self.gz, out);
        out.push_str("\"}}");
        Ok(())
    }

    /// A gzip member: fixed header (no name, mtime 0, OS unknown), raw deflate, CRC-32
    /// and length, so the same input always gives the same bytes.
    fn gzip(&mut self, json: &[u8]) -> std::io::Result<()> {
        self.gz.clear();
        self.gz
            .extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        self.deflate.reset();
        let mut input = json;
        loop {
            if self.gz.capacity() - self.gz.len() < 4096 {
                self.gz.reserve(self.gz.capacity().max(4096));
            }
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.gz, FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            let used =
                usize::try_from(self.deflate.total_in() - before).map_err(std::io::Error::other)?;
            input = &input[used..];
            if status == Status::StreamEnd {
                break;
            }
        }
        let crc = crc32fast::hash(json);
        self.gz.extend_from_slice(&crc.to_le_bytes());
        // ISIZE is the length modulo 2^32 by definition.
        self.gz
            .extend_from_slice(&(json.len() as u32).to_le_bytes());
        Ok(())
    }
}

/// The opening of a data message, up to and including `"logEvents":[`.
pub(crate) fn data_header(owner: &str, group: &str, stream: &str, filter: &str, out: &mut String) {
    out.push_str("{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"");
    out.push_str(owner);
    out.push_str("\",\"logGroup\":\"");
    escape_json(group, out);
    out.push_str("\",\"logStream\":\"");
    escape_json(stream, out);
    out.push_str("\",\"subscriptionFilters\":[\"");
    escape_json(filter, out);
    out.push_str("\"],\"logEvents\":[");
}

/// One `logEvents` entry.
pub(crate) fn log_event(id: &str, ms: i64, message: &str, out: &mut String) {
    out.push_str("{\"id\":\"");
    out.push_str(id);
    out.push_str("\",\"timestamp\":");
    let _ = write!(out, "{ms}");
    out.push_str(",\"message\":\"");
    escape_json(message, out);
    out.push_str("\"}");
}

/// The control message CloudWatch sends to a destination when a filter is created.
pub(crate) fn control_message(ms: i64) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",");
    out.push_str("\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],");
    out.push_str("\"logEvents\":[");
    log_event("", ms, CONTROL_TEXT, &mut out);
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    #[test]
    fn event_ids_are_56_digits_that_grow_with_time() {
        let mut a = String::new();
        event_id(1_709_547_330_123, 0xdead_beef_1234_5678, 1, &mut a);
        assert_eq!(a.len(), 56, "{a}");
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        let mut b = String::new();
        event_id(1_709_547_330_124, 0, 0, &mut b);
        assert!(b > a, "{a} {b}");
        // ms * 2^144 exactly when salt and sequence are zero.
        let mut c = String::new();
        event_id(1, 0, 0, &mut c);
        assert_eq!(c, "22300745198530623141535718272648361505980416");
        let mut d = String::new();
        event_id(0, 0, 42, &mut d);
        assert_eq!(d, "42");
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        let mut s = String::new();
        escape_json("a\"b\\c\nd\u{1}é", &mut s);
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
        let v: String = serde_json::from_str(&format!("\"{s}\"")).unwrap_or_default();
        assert_eq!(v, "a\"b\\c\nd\u{1}é");
        s.clear();
        escape_json("GET \"/x\\y\" é", &mut s);
        assert_eq!(s, "GET \\\"/x\\\\y\\\" é");
    }

    #[test]
    fn lambda_event_round_trips_and_is_deterministic() -> Result<(), Box<dyn std::error::Error>> {
        let mut enc = Encoder::new();
        let json = control_message(1_709_510_400_000);
        let mut one = String::new();
        enc.lambda_event(json.as_bytes(), &mut one)?;
        let mut two = String::new();
        enc.lambda_event(json.as_bytes(), &mut two)?;
        assert_eq!(one, two);
        let v: serde_json::Value = serde_json::from_str(&one)?;
        let data = v["awslogs"]["data"].as_str().ok_or("no data")?;
        let gz = base64::engine::general_purpose::STANDARD.decode(data)?;
        let mut text = String::new();
        GzDecoder::new(&gz[..]).read_to_string(&mut text)?;
        assert_eq!(text, json);
        let msg: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(msg["messageType"], "CONTROL_MESSAGE");
        assert_eq!(msg["logEvents"][0]["message"], CONTROL_TEXT);
        Ok(())
    }
}
