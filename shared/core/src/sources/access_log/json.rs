//! Access log lines as JSON objects (morgan-style): a serde visitor that takes the
//! common key spellings (first key wins, see the parent module's table) with
//! borrowed strings, and skips every other key without building a value.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

use super::{
    AccessError, AccessRecord, latency, parse_clf_time, parse_ip, parse_web_time, request_parts,
};
use crate::timefmt;

/// A time value of a JSON line: RFC 3339, CLF, RFC 1123, or a number of epoch
/// seconds (milliseconds when above 10^11).
fn json_time(v: &Scalar<'_>) -> Option<i64> {
    match v {
        Scalar::Str(s) => timefmt::parse_rfc3339(s)
            .or_else(|| parse_clf_time(s))
            .or_else(|| parse_web_time(s)),
        Scalar::Num(n) if n.is_finite() && *n > 1e11 => Some((*n / 1000.0) as i64),
        Scalar::Num(n) if n.is_finite() && *n >= 0.0 => Some(*n as i64),
        _ => None,
    }
}

/// A JSON scalar, strings borrowed where the input allows.
#[derive(Debug)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Other,
}

impl Scalar<'_> {
    fn num(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => Some(*n),
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::Other => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A map key, borrowed where the input allows.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Remote,
    User,
    Method,
    Url,
    Query,
    Request,
    Protocol,
    Status,
    Bytes,
    Referrer,
    UserAgent,
    LatencyMs,
    LatencyS,
    Time,
}

fn slot(key: &str) -> Option<Slot> {
    Some(match key {
        "remote_addr" | "remote-addr" | "remoteAddr" | "ip" | "client_ip" | "clientIp"
        | "remote_ip" => Slot::Remote,
        "remote_user" | "remote-user" | "remoteUser" | "user" => Slot::User,
        "method" | "request_method" => Slot::Method,
        "url" | "path" | "uri" | "request_uri" | "originalUrl" => Slot::Url,
        "query" | "query_string" | "args" => Slot::Query,
        "request" => Slot::Request,
        "http_version" | "http-version" | "httpVersion" | "protocol" | "server_protocol" => {
            Slot::Protocol
        }
        "status" | "status_code" | "statusCode" => Slot::Status,
        "content_length" | "content-length" | "contentLength" | "bytes" | "res_bytes"
        | "body_bytes_sent" | "bytes_sent" | "response_size" => Slot::Bytes,
        "referrer" | "referer" | "http_referer" => Slot::Referrer,
        "user_agent" | "user-agent" | "userAgent" | "http_user_agent" => Slot::UserAgent,
        "response_time" | "response-time" | "responseTime" | "response_time_ms" | "latency_ms"
        | "duration_ms" => Slot::LatencyMs,
        "request_time" => Slot::LatencyS,
        "time" | "date" | "timestamp" | "@timestamp" | "time_iso8601" | "time_local" | "ts" => {
            Slot::Time
        }
        _ => return None,
    })
}

const SLOTS: usize = 14;

/// The values of one JSON line, by slot, first key wins.
struct JsonLine<'a>([Option<Scalar<'a>>; SLOTS]);

/// Fills a [`JsonLine`] in place (a seed rather than `Deserialize`, so the
/// fourteen slots are not moved through serde's return values).
impl<'de> DeserializeSeed<'de> for &mut JsonLine<'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut JsonLine<'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an access log object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = a.next_key::<Key<'de>>()? {
            match slot(&k) {
                Some(s) if self.0[s as usize].is_none() => {
                    self.0[s as usize] = Some(a.next_value::<Scalar<'de>>()?);
                }
                _ => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'a> JsonLine<'a> {
    fn take(&mut self, s: Slot) -> Option<Scalar<'a>> {
        self.0[s as usize].take()
    }

    fn take_str(&mut self, s: Slot) -> Option<Cow<'a, str>> {
        match self.take(s)? {
            Scalar::Str(v) if !v.is_empty() && v != "-" => Some(v),
            Scalar::Num(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }
}

/// `1.1` → `HTTP/1.1`, anything else kept as logged.
fn protocol_of(p: Cow<'_, str>) -> Cow<'_, str> {
    match &*p {
        "1.0" => Cow::Borrowed("HTTP/1.0"),
        "1.1" => Cow::Borrowed("HTTP/1.1"),
        "2" | "2.0" => Cow::Borrowed("HTTP/2.0"),
        "3" | "3.0" => Cow::Borrowed("HTTP/3.0"),
        _ => p,
    }
}

/// Splits a target at `?`, keeping borrowed strings borrowed.
fn split_target(t: Cow<'_, str>) -> (Cow<'_, str>, Option<Cow<'_, str>>) {
    match t {
        Cow::Borrowed(s) => match s.split_once('?') {
            Some((p, q)) => (Cow::Borrowed(p), Some(Cow::Borrowed(q))),
            None => (Cow::Borrowed(s), None),
        },
        Cow::Owned(s) => match s.split_once('?') {
            Some((p, q)) => (Cow::Owned(p.to_owned()), Some(Cow::Owned(q.to_owned()))),
            None => (Cow::Owned(s), None),
        },
    }
}

pub(super) fn parse_json(line: &str) -> Result<AccessRecord<'_>, AccessError> {
    let json_err = |e: serde_json::Error| AccessError::Json { column: e.column() };
    let mut j = JsonLine(Default::default());
    let mut de = serde_json::Deserializer::from_str(line);
    (&mut j).deserialize(&mut de).map_err(json_err)?;
    de.end().map_err(json_err)?;
    let remote = match j.take(Slot::Remote) {
        Some(Scalar::Str(s)) => parse_ip(&s)?,
        Some(_) => return Err(AccessError::BadField { field: "remote" }),
        None => {
            return Err(AccessError::MissingField {
                field: "remote_addr",
            });
        }
    };
    let status = match j.take(Slot::Status) {
        Some(v) => match v.num() {
            Some(n) if (100.0..=999.0).contains(&n) => n as u16,
            _ => return Err(AccessError::BadField { field: "status" }),
        },
        None => return Err(AccessError::MissingField { field: "status" }),
    };
    let request = j.take_str(Slot::Request);
    let mut method = j.take_str(Slot::Method);
    let mut url = j.take_str(Slot::Url);
    let mut protocol = j.take_str(Slot::Protocol).map(protocol_of);
    if let Some(req) = &request {
        if method.is_none() || url.is_none() {
            let (m, target, proto) = request_parts(req);
            method.get_or_insert_with(|| Cow::Owned(m.to_owned()));
            url.get_or_insert_with(|| Cow::Owned(target.to_owned()));
            if !proto.is_empty() {
                protocol.get_or_insert_with(|| Cow::Owned(proto.to_owned()));
            }
        }
    }
    let Some(url) = url else {
        return Err(AccessError::MissingField { field: "url" });
    };
    let (path, mut query) = split_target(url);
    if query.is_none() {
        query = j.take_str(Slot::Query);
    }
    let bytes = j
        .take(Slot::Bytes)
        .and_then(|v| v.num())
        .map_or(0, |n| n.max(0.0) as u64);
    let latency_ms = match j.take(Slot::LatencyMs).and_then(|v| v.num()) {
        Some(ms) => latency(ms as f32),
        None => j
            .take(Slot::LatencyS)
            .and_then(|v| v.num())
            .and_then(|s| latency((s * 1000.0) as f32)),
    };
    let time = j.take(Slot::Time).as_ref().and_then(json_time);
    Ok(AccessRecord {
        remote,
        user: j.take_str(Slot::User),
        time,
        method: method.unwrap_or(Cow::Borrowed("-")),
        path,
        query,
        protocol: protocol.unwrap_or(Cow::Borrowed("")),
        status,
        bytes,
        referrer: j.take_str(Slot::Referrer),
        user_agent: j.take_str(Slot::UserAgent).unwrap_or(Cow::Borrowed("")),
        latency_ms,
    })
}
