//! Web access logs: nginx `combined`, Express morgan `combined`, and morgan-style
//! JSON lines (one object per line).
//!
//! The combined formats are split by hand, borrowing every field from the line.
//! JSON lines go through serde with borrowed strings (owned only where a JSON escape
//! forces it) and a visitor that accepts the common key spellings, first key wins:
//!
//! | field | keys |
//! |---|---|
//! | remote | `remote_addr`, `remote-addr`, `remoteAddr`, `ip`, `client_ip`, `clientIp`, `remote_ip` |
//! | user | `remote_user`, `remote-user`, `remoteUser`, `user` |
//! | method | `method`, `request_method` |
//! | path and query | `url`, `path`, `uri`, `request_uri`, `originalUrl` (split at `?`); `query`, `query_string`, `args` |
//! | request line | `request` (`GET /x HTTP/1.1`, used when method or url is missing) |
//! | protocol | `http_version`, `http-version`, `httpVersion`, `protocol`, `server_protocol` |
//! | status | `status`, `status_code`, `statusCode` (number or string) |
//! | bytes | `content_length`, `content-length`, `contentLength`, `bytes`, `res_bytes`, `body_bytes_sent`, `bytes_sent`, `response_size` |
//! | referrer | `referrer`, `referer`, `http_referer` |
//! | user agent | `user_agent`, `user-agent`, `userAgent`, `http_user_agent` |
//! | latency (ms) | `response_time`, `response-time`, `responseTime`, `response_time_ms`, `latency_ms`, `duration_ms` |
//! | latency (s) | `request_time` (nginx `$request_time`) |
//! | time | `time`, `date`, `timestamp`, `@timestamp`, `time_iso8601`, `time_local`, `ts` |

mod json;

use json::parse_json;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::timefmt;

/// Which access log format a line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessFormat {
    /// nginx `combined`, optionally followed by `$request_time` (seconds) as a bare
    /// number or `rt=`/`request_time=`.
    NginxCombined,
    /// Express morgan `combined`, optionally followed by `:response-time`
    /// (milliseconds).
    MorganCombined,
    /// One JSON object per line (see the module documentation for the keys).
    MorganJson,
    /// JSON when the line starts with `{`, otherwise combined; a bare trailing number
    /// is read as nginx's seconds.
    #[default]
    Auto,
}

impl AccessFormat {
    /// The configuration name: `nginx`, `morgan`, `morgan-json`, `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessFormat::NginxCombined => "nginx",
            AccessFormat::MorganCombined => "morgan",
            AccessFormat::MorganJson => "morgan-json",
            AccessFormat::Auto => "auto",
        }
    }
}

impl fmt::Display for AccessFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccessFormat {
    type Err = AccessError;
    /// Accepts `nginx`, `nginx-combined`, `morgan`, `morgan-combined`,
    /// `morgan-json`, `json`, `auto` (`_` or `-` alike, any case).
    fn from_str(s: &str) -> Result<Self, AccessError> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "nginx" | "nginx-combined" => Ok(AccessFormat::NginxCombined),
            "morgan" | "morgan-combined" | "express" => Ok(AccessFormat::MorganCombined),
            "morgan-json" | "json" => Ok(AccessFormat::MorganJson),
            "auto" => Ok(AccessFormat::Auto),
            _ => Err(AccessError::UnknownFormat { name: s.to_owned() }),
        }
    }
}

/// Why an access log line (or format name) was refused. Messages name fields, never
/// the content of a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The line matches none of the accepted shapes.
    #[error("access log line has no recognisable format")]
    Shape,
    /// A field is present but does not parse (e.g. a remote address that is not an IP).
    #[error("access log field `{field}` has an invalid value")]
    BadField {
        /// The field name.
        field: &'static str,
    },
    /// A JSON line lacks a field every record needs.
    #[error("access log JSON line lacks `{field}`")]
    MissingField {
        /// The field name.
        field: &'static str,
    },
    /// A line starting with `{` that is not a JSON object.
    #[error("access log JSON line is malformed at column {column}")]
    Json {
        /// Column of the error.
        column: usize,
    },
    /// A format name that is not one of `nginx`, `morgan`, `morgan-json`, `auto`.
    #[error("unknown access log format `{name}` (expected nginx, morgan, morgan-json or auto)")]
    UnknownFormat {
        /// The name as given.
        name: String,
    },
}

/// One request. Text borrows from the line, except JSON strings with escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord<'a> {
    /// Client address (`$remote_addr`, `:remote-addr`); IPv4-mapped IPv6 addresses
    /// (`::ffff:10.0.0.1`, as Node reports them) are reduced to IPv4.
    pub remote: IpAddr,
    /// Authenticated user, `None` for `-`.
    pub user: Option<Cow<'a, str>>,
    /// Request time, epoch seconds; `None` when a JSON line carries none (callers
    /// fall back to the CloudWatch Logs event timestamp).
    pub time: Option<i64>,
    /// Method (`GET`); `-` when the request line is malformed (TLS bytes sent to a
    /// plain-HTTP port, `"-"`, …).
    pub method: Cow<'a, str>,
    /// Target without the query, as logged (not percent-decoded); empty when the
    /// request line is malformed.
    pub path: Cow<'a, str>,
    /// Query string without `?`, when the target has one.
    pub query: Option<Cow<'a, str>>,
    /// `HTTP/1.1`; empty when absent.
    pub protocol: Cow<'a, str>,
    /// Response status.
    pub status: u16,
    /// Response body bytes (0 for `-`).
    pub bytes: u64,
    /// Referrer, `None` for `-` or empty.
    pub referrer: Option<Cow<'a, str>>,
    /// User agent, empty for `-`.
    pub user_agent: Cow<'a, str>,
    /// Request latency in milliseconds, when logged.
    pub latency_ms: Option<f32>,
}

/// Parses one line in `fmt` (a trailing `\r`/`\n` is ignored).
pub fn parse_line<'a>(line: &'a str, fmt: AccessFormat) -> Result<AccessRecord<'a>, AccessError> {
    let line = line.trim_end_matches(['\n', '\r']);
    match fmt {
        AccessFormat::MorganJson => parse_json(line),
        AccessFormat::NginxCombined => parse_combined(line, LatencyUnit::Seconds),
        AccessFormat::MorganCombined => parse_combined(line, LatencyUnit::Millis),
        AccessFormat::Auto => {
            if line.trim_start().starts_with('{') {
                parse_json(line)
            } else {
                parse_combined(line, LatencyUnit::Seconds)
            }
        }
    }
}

#[derive(Clone, Copy)]
enum LatencyUnit {
    Seconds,
    Millis,
}

fn parse_ip(s: &str) -> Result<IpAddr, AccessError> {
    super::vpcflow::parse_ip(s)
        .map(|ip| ip.to_canonical())
        .ok_or(AccessError::BadField { field: "remote" })
}

fn dash(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

/// Splits at the first `c` (ASCII), dropping it.
fn cut(s: &str, c: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(c, s.as_bytes())?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Splits at the first `"` followed by `next`, dropping the quote.
fn cut_quote<'a>(s: &'a str, next: &[u8]) -> Option<(&'a str, &'a str)> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'"', b)
        .find(|&i| b[i + 1..].starts_with(next))
        .and_then(|i| Some((s.get(..i)?, s.get(i + 1..)?)))
}

/// `REMOTE IDENT USER [TIME] "REQUEST" STATUS BYTES ["REFERRER" "UA"] [TRAILER…]`.
fn parse_combined(line: &str, unit: LatencyUnit) -> Result<AccessRecord<'_>, AccessError> {
    let shape = || AccessError::Shape;
    let (remote, rest) = cut(line, b' ').ok_or_else(shape)?;
    let (_ident, rest) = cut(rest, b' ').ok_or_else(shape)?;
    let (user, rest) = cut(rest, b'[').ok_or_else(shape)?;
    let user = user.strip_suffix(' ').ok_or_else(shape)?;
    let (time, rest) = cut(rest, b']').ok_or_else(shape)?;
    let rest = rest.strip_prefix(" \"").ok_or_else(shape)?;
    let (request, rest) = split_request(rest)?;
    let (status, rest) = cut(rest, b' ').unwrap_or((rest, ""));
    let (bytes, rest) = cut(rest, b' ').unwrap_or((rest, ""));
    if remote.contains(['"', '[']) || user.contains('"') {
        return Err(AccessError::Shape);
    }
    let remote = parse_ip(remote)?;
    let time = parse_clf_time(time).ok_or(AccessError::BadField { field: "time" })?;
    let status = parse_status(status)?;
    let bytes = match bytes {
        "-" => 0,
        b => b
            .parse()
            .map_err(|_| AccessError::BadField { field: "bytes" })?,
    };
    let (referrer, user_agent, trailer) = match rest.strip_prefix('"') {
        None if rest.trim().is_empty() => ("-", "-", ""),
        None => return Err(AccessError::Shape),
        Some(r) => {
            let (referrer, r) = cut_quote(r, b" \"").ok_or_else(shape)?;
            let (ua, trailer) = cut(&r[2..], b'"').ok_or_else(shape)?;
            (referrer, ua, trailer)
        }
    };
    let (method, path, query, protocol) = split_request_line(request);
    Ok(AccessRecord {
        remote,
        user: dash(user).map(Cow::Borrowed),
        time: Some(time),
        method: Cow::Borrowed(method),
        path: Cow::Borrowed(path),
        query: query.map(Cow::Borrowed),
        protocol: Cow::Borrowed(protocol),
        status,
        bytes,
        referrer: dash(referrer).map(Cow::Borrowed),
        user_agent: Cow::Borrowed(if user_agent == "-" { "" } else { user_agent }),
        latency_ms: trailer_latency(trailer, unit),
    })
}

/// Splits `REQUEST" STATUS …` at the quote that closes the request: the first `"`
/// followed by a space and three digits (nginx escapes quotes inside the request as
/// `\x22`; morgan does not escape them at all).
fn split_request(rest: &str) -> Result<(&str, &str), AccessError> {
    let b = rest.as_bytes();
    for i in memchr::memchr_iter(b'"', b) {
        let after = &b[i + 1..];
        if after.len() >= 4 && after[0] == b' ' && after[1..4].iter().all(u8::is_ascii_digit) {
            return Ok((&rest[..i], &rest[i + 2..]));
        }
    }
    Err(AccessError::Shape)
}

fn parse_status(s: &str) -> Result<u16, AccessError> {
    match s.parse::<u16>() {
        Ok(v) if (100..=999).contains(&v) => Ok(v),
        _ => Err(AccessError::BadField { field: "status" }),
    }
}

/// `METHOD TARGET PROTOCOL` into method, target, protocol; a line that is not a
/// request gives method `-` and an empty target.
fn request_parts(req: &str) -> (&str, &str, &str) {
    let Some((method, rest)) = req.split_once(' ') else {
        return ("-", "", "");
    };
    let method_ok = !method.is_empty()
        && method.len() <= 16
        && method
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_');
    if !method_ok || rest.is_empty() {
        return ("-", "", "");
    }
    match rest.rsplit_once(' ') {
        Some((t, p)) if p.starts_with("HTTP/") => (method, t, p),
        _ => (method, rest, ""),
    }
}

/// [`request_parts`] with the target split at `?` into path and query.
fn split_request_line(req: &str) -> (&str, &str, Option<&str>, &str) {
    let (method, target, protocol) = request_parts(req);
    match target.split_once('?') {
        Some((p, q)) => (method, p, Some(q), protocol),
        None => (method, target, None, protocol),
    }
}

/// A latency worth keeping: finite and not negative.
fn latency(ms: f32) -> Option<f32> {
    (ms.is_finite() && ms >= 0.0).then_some(ms)
}

/// Latency from what follows the user agent: `rt=S` or `request_time=S` (seconds),
/// else a bare number as the first token (in `unit`).
fn trailer_latency(trailer: &str, unit: LatencyUnit) -> Option<f32> {
    let mut first = true;
    for tok in trailer.split_ascii_whitespace() {
        let tok = tok.trim_matches('"');
        if let Some(v) = tok
            .strip_prefix("rt=")
            .or_else(|| tok.strip_prefix("request_time="))
        {
            return latency(v.parse::<f32>().ok()? * 1000.0);
        }
        if first && tok.bytes().next().is_some_and(|c| c.is_ascii_digit()) {
            if let Ok(v) = tok.parse::<f32>() {
                return latency(match unit {
                    LatencyUnit::Seconds => v * 1000.0,
                    LatencyUnit::Millis => v,
                });
            }
        }
        first = false;
    }
    None
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn num(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn month(b: &[u8]) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(b))
        .map(|i| i as i64 + 1)
}

fn epoch(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(timefmt::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `10/Oct/2000:13:55:36 -0700` (nginx `$time_local`, morgan `:date[clf]`) to
/// epoch seconds.
pub fn parse_clf_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let t = epoch(
        num(&b[7..11])?,
        month(&b[3..6])?,
        num(&b[0..2])?,
        num(&b[12..14])?,
        num(&b[15..17])?,
        num(&b[18..20])?,
    )?;
    let off = num(&b[22..24])? * 3600 + num(&b[24..26])? * 60;
    match b[21] {
        b'+' => Some(t - off),
        b'-' => Some(t + off),
        _ => None,
    }
}

/// `Tue, 10 Oct 2000 13:55:36 GMT` (morgan `:date[web]`) to epoch seconds.
fn parse_web_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29 || b[3] != b',' || !s.ends_with(" GMT") {
        return None;
    }
    epoch(
        num(&b[12..16])?,
        month(&b[8..11])?,
        num(&b[5..7])?,
        num(&b[17..19])?,
        num(&b[20..22])?,
        num(&b[23..25])?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const NGINX: &str = r#"203.0.113.7 - alice [04/Mar/2024:10:15:30 +0000] "GET /api/orders?id=42&sort=desc HTTP/1.1" 200 1532 "https://shop.example.com/cart" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36""#;

    #[test]
    fn parses_nginx_combined() {
        let r = parse_line(NGINX, AccessFormat::NginxCombined).unwrap();
        assert_eq!(r.remote, ip("203.0.113.7"));
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.time, Some(1_709_547_330));
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/orders");
        assert_eq!(r.query.as_deref(), Some("id=42&sort=desc"));
        assert_eq!(r.protocol, "HTTP/1.1");
        assert_eq!((r.status, r.bytes), (200, 1532));
        assert_eq!(r.referrer.as_deref(), Some("https://shop.example.com/cart"));
        assert!(r.user_agent.starts_with("Mozilla/5.0 (Windows NT 10.0"));
        assert_eq!(r.latency_ms, None);
        assert!(matches!(r.path, Cow::Borrowed(_)), "combined lines borrow");
        assert_eq!(parse_line(NGINX, AccessFormat::Auto).unwrap(), r);
    }

    #[test]
    fn reads_nginx_request_time_in_seconds() {
        let bare = format!("{NGINX} 0.123");
        let rt = format!("{NGINX} rt=0.250 uct=\"0.001\"");
        let xff = format!("{NGINX} \"198.51.100.1\" request_time=1.5");
        let cases = [(bare, 123.0), (rt, 250.0), (xff, 1500.0)];
        for (line, ms) in &cases {
            let r = parse_line(line, AccessFormat::NginxCombined).unwrap();
            let got = r.latency_ms.unwrap();
            assert!((got - ms).abs() < 0.01, "{line:?}: {got}");
        }
    }

    #[test]
    fn parses_morgan_combined_with_response_time_in_ms() {
        let line = r#"::ffff:10.0.3.17 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/1.1" 401 - "-" "curl/8.5.0" 12.345"#;
        let r = parse_line(line, AccessFormat::MorganCombined).unwrap();
        assert_eq!(r.remote, ip("10.0.3.17"), "IPv4-mapped reduced to IPv4");
        assert_eq!(r.user, None);
        assert_eq!(r.time, Some(971_186_136));
        assert_eq!((r.method.as_ref(), r.path.as_ref()), ("POST", "/login"));
        assert_eq!(r.query, None);
        assert_eq!((r.status, r.bytes), (401, 0));
        assert_eq!(r.referrer, None);
        assert_eq!(r.user_agent, "curl/8.5.0");
        assert!((r.latency_ms.unwrap() - 12.345).abs() < 1e-3);
    }

    #[test]
    fn applies_the_time_zone_offset() {
        let line = r#"2001:db8::1 - - [04/Mar/2024:12:15:30 +0200] "GET / HTTP/2.0" 304 0 "-" "-""#;
        let r = parse_line(line, AccessFormat::NginxCombined).unwrap();
        assert_eq!(r.time, Some(1_709_547_330));
        assert_eq!(r.remote, ip("2001:db8::1"));
        assert_eq!(r.user_agent, "");
    }

    #[test]
    fn malformed_request_lines_parse_with_method_dash() {
        let cases = [
            r#"198.51.100.23 - - [04/Mar/2024:10:15:30 +0000] "\x16\x03\x01\x00\xCA\x01\x00\x00\xC6\x03\x03" 400 157 "-" "-""#,
            r#"198.51.100.23 - - [04/Mar/2024:10:15:30 +0000] "-" 400 0 "-" "-""#,
            r#"198.51.100.23 - - [04/Mar/2024:10:15:30 +0000] "" 400 0 "-" "-""#,
        ];
        for line in cases {
            let r = parse_line(line, AccessFormat::NginxCombined)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.method, "-", "{line}");
            assert_eq!(r.path, "", "{line}");
            assert_eq!(r.status, 400, "{line}");
        }
    }

    #[test]
    fn keeps_quotes_and_spaces_inside_the_request() {
        // morgan does not escape quotes; nginx writes them as \x22.
        let line = r#"198.51.100.23 - - [04/Mar/2024:10:15:30 +0000] "GET /search?q="a b" HTTP/1.1" 200 5 "-" "sqlmap/1.8#stable (https://sqlmap.org)""#;
        let r = parse_line(line, AccessFormat::MorganCombined).unwrap();
        assert_eq!(r.query.as_deref(), Some("q=\"a b\""));
        assert_eq!(r.protocol, "HTTP/1.1");
        assert_eq!(r.status, 200);
        assert!(r.user_agent.starts_with("sqlmap/"));
    }

    #[test]
    fn accepts_common_log_format_without_referrer_and_agent() {
        let line = r#"192.0.2.1 - - [04/Mar/2024:10:15:30 +0000] "GET /health HTTP/1.0" 200 2"#;
        let r = parse_line(line, AccessFormat::NginxCombined).unwrap();
        assert_eq!((r.path.as_ref(), r.status, r.bytes), ("/health", 200, 2));
        assert_eq!((r.referrer, r.user_agent.as_ref()), (None, ""));
    }

    #[test]
    fn parses_morgan_json_lines_with_common_keys() {
        let cases = [
            r#"{"remote_addr":"203.0.113.9","remote_user":null,"time":"2024-03-04T10:15:30.512Z","method":"GET","url":"/api/items?page=2","http_version":"1.1","status":200,"content_length":"512","referrer":"-","user_agent":"Mozilla/5.0","response_time":"3.120"}"#,
            r#"{"remote-addr":"203.0.113.9","date":"Mon, 04 Mar 2024 10:15:30 GMT","method":"GET","url":"/api/items","query":"page=2","http-version":"1.1","status":"200","res_bytes":512,"referer":"","user-agent":"Mozilla/5.0","response_time_ms":3.12}"#,
            r#"{"ip":"203.0.113.9","timestamp":1709547330512,"request":"GET /api/items?page=2 HTTP/1.1","status_code":200,"bytes":512,"userAgent":"Mozilla/5.0","request_time":0.00312,"extra":{"nested":[1,2,{"a":null}]}}"#,
            r#"{"clientIp":"::ffff:203.0.113.9","time_local":"04/Mar/2024:10:15:30 +0000","method":"GET","path":"/api/items?page=2","protocol":"HTTP/1.1","statusCode":200,"contentLength":512,"http_user_agent":"Mozilla/5.0","latency_ms":3.12,"ts":1}"#,
        ];
        for line in cases {
            let r = parse_line(line, AccessFormat::MorganJson)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.remote, ip("203.0.113.9"), "{line}");
            assert_eq!(r.time, Some(1_709_547_330), "{line}");
            assert_eq!(r.method, "GET", "{line}");
            assert_eq!(r.path, "/api/items", "{line}");
            assert_eq!(r.query.as_deref(), Some("page=2"), "{line}");
            assert_eq!(r.protocol, "HTTP/1.1", "{line}");
            assert_eq!((r.status, r.bytes), (200, 512), "{line}");
            assert_eq!(r.referrer, None, "{line}");
            assert_eq!(r.user_agent, "Mozilla/5.0", "{line}");
            assert!((r.latency_ms.unwrap() - 3.12).abs() < 1e-3, "{line}");
            assert_eq!(parse_line(line, AccessFormat::Auto).unwrap(), r, "{line}");
        }
    }

    #[test]
    fn json_strings_with_escapes_are_unescaped() {
        let line = r#"{"ip":"198.51.100.4","method":"GET","url":"/q?s=\"><script>","status":404,"user_agent":"Mozilla\/5.0 \u0041"}"#;
        let r = parse_line(line, AccessFormat::MorganJson).unwrap();
        assert_eq!(r.query.as_deref(), Some("s=\"><script>"));
        assert_eq!(r.user_agent, "Mozilla/5.0 A");
        assert_eq!(r.time, None);
    }

    #[test]
    fn bad_lines_are_errors() {
        let cases: &[(&str, AccessFormat, AccessError)] = &[
            ("", AccessFormat::Auto, AccessError::Shape),
            (
                "hello world",
                AccessFormat::NginxCombined,
                AccessError::Shape,
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                AccessFormat::Auto,
                AccessError::Shape,
            ),
            (
                r#"not-an-ip - - [04/Mar/2024:10:15:30 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
                AccessFormat::NginxCombined,
                AccessError::BadField { field: "remote" },
            ),
            (
                r#"192.0.2.1 - - [04/Mar/2024:25:15:30 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
                AccessFormat::NginxCombined,
                AccessError::BadField { field: "time" },
            ),
            (
                r#"192.0.2.1 - - [04/Mar/2024:10:15:30 +0000] "GET / HTTP/1.1" 200 many "-" "-""#,
                AccessFormat::NginxCombined,
                AccessError::BadField { field: "bytes" },
            ),
            (
                r#"192.0.2.1 - - [04/Mar/2024:10:15:30 +0000] "GET / HTTP/1.1" 200 1 "-"#,
                AccessFormat::NginxCombined,
                AccessError::Shape,
            ),
            (
                r#"{"ip":"192.0.2.1","method":"GET","url":"/","status":200"#,
                AccessFormat::MorganJson,
                AccessError::Json { column: 55 },
            ),
            (
                r#"{"method":"GET","url":"/","status":200}"#,
                AccessFormat::MorganJson,
                AccessError::MissingField {
                    field: "remote_addr",
                },
            ),
            (
                r#"{"ip":"192.0.2.1","url":"/"}"#,
                AccessFormat::MorganJson,
                AccessError::MissingField { field: "status" },
            ),
            (
                r#"{"ip":"192.0.2.1","status":"abc","url":"/"}"#,
                AccessFormat::MorganJson,
                AccessError::BadField { field: "status" },
            ),
            (
                r#"["192.0.2.1"]"#,
                AccessFormat::MorganJson,
                AccessError::Json { column: 0 },
            ),
        ];
        for (line, fmt, want) in cases {
            assert_eq!(
                parse_line(line, *fmt).as_ref().err(),
                Some(want),
                "{line:?}"
            );
        }
    }

    #[test]
    fn format_names_parse() {
        for (s, f) in [
            ("nginx", AccessFormat::NginxCombined),
            ("morgan", AccessFormat::MorganCombined),
            ("morgan-json", AccessFormat::MorganJson),
            ("MORGAN_JSON", AccessFormat::MorganJson),
            ("auto", AccessFormat::Auto),
        ] {
            assert_eq!(s.parse::<AccessFormat>(), Ok(f));
            assert_eq!(f.as_str().parse::<AccessFormat>(), Ok(f));
        }
        assert!("apache".parse::<AccessFormat>().is_err());
    }

    #[test]
    fn parses_clf_times() {
        assert_eq!(parse_clf_time("01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(
            parse_clf_time("29/Feb/2024:23:59:59 -0130"),
            Some(1_709_251_199 + 5400)
        );
        assert_eq!(parse_clf_time("29/Foo/2024:23:59:59 +0000"), None);
        assert_eq!(parse_clf_time("29/Feb/2024:23:59:59"), None);
    }
}
