//! Web access log lines exactly as the servers write them:
//!
//! - nginx `combined` with the request time appended
//!   (`log_format main '$remote_addr - $remote_user [$time_local] "$request" $status
//!   $body_bytes_sent "$http_referer" "$http_user_agent" $request_time'`), with
//!   nginx's default escaping of `"`, `\` and non-printable bytes as `\xHH`;
//! - morgan `combined` (Express);
//! - a morgan JSON format function (`JSON.stringify` of the usual tokens).

use super::line::{Sink, clf, iso_ms};
use crate::ids::SimRng;
use rand::Rng;
use std::fmt::Write;

/// How a log group's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// nginx combined + `$request_time`.
    Nginx,
    /// morgan `combined`.
    MorganCombined,
    /// morgan with a JSON format function.
    MorganJson,
}

/// Which service answers a request (the load balancer routes by path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum App {
    /// nginx: pages and static assets.
    Web,
    /// Express API (`/api/…`).
    Api,
    /// Express orders service (`/api/v1/orders…`).
    Orders,
}

impl App {
    /// The service a path is routed to.
    pub(crate) fn for_path(path: &str) -> App {
        if path.starts_with("/api/v1/orders") {
            App::Orders
        } else if path.starts_with("/api/") {
            App::Api
        } else {
            App::Web
        }
    }
}

/// One request as a server logs it.
#[derive(Debug, Clone)]
pub(crate) struct Hit<'a> {
    /// When the response finished (epoch ms).
    pub ms: i64,
    pub ip: &'a str,
    pub method: &'a str,
    /// Path and query as the client sent them.
    pub target: &'a str,
    pub status: u16,
    /// Response body bytes.
    pub bytes: u64,
    /// `-` when the client sent none.
    pub referrer: &'a str,
    pub ua: &'a str,
    /// Time to serve, in milliseconds.
    pub rt_ms: f64,
}

fn nginx_escape(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
}

/// Whether a status has no `Content-Length` in Express's response.
fn no_length(status: u16) -> bool {
    status == 204 || status == 304 || status < 200
}

/// Appends the line for `h` in format `f`.
pub(crate) fn render(f: Format, h: &Hit<'_>, out: &mut String) {
    match f {
        Format::Nginx => {
            out.push_str(h.ip);
            out.push_str(" - - [");
            clf(h.ms, out);
            out.push_str("] \"");
            nginx_escape(h.method, out);
            out.push(' ');
            nginx_escape(h.target, out);
            out.push_str(" HTTP/1.1\" ");
            let bytes = if h.status == 304 { 0 } else { h.bytes };
            let _ = write!(out, "{} {} \"", h.status, bytes);
            nginx_escape(h.referrer, out);
            out.push_str("\" \"");
            nginx_escape(h.ua, out);
            let _ = write!(out, "\" {:.3}", h.rt_ms / 1000.0);
        }
        Format::MorganCombined => {
            out.push_str(h.ip);
            out.push_str(" - - [");
            clf(h.ms, out);
            let _ = write!(
                out,
                "] \"{} {} HTTP/1.1\" {} ",
                h.method, h.target, h.status
            );
            if no_length(h.status) {
                out.push('-');
            } else {
                let _ = write!(out, "{}", h.bytes);
            }
            let _ = write!(out, " \"{}\" \"{}\"", h.referrer, h.ua);
        }
        Format::MorganJson => {
            out.push_str("{\"time\":\"");
            iso_ms(h.ms, out);
            out.push_str("\",\"remote_addr\":\"");
            super::cwl::escape_json(h.ip, out);
            out.push_str("\",\"method\":\"");
            super::cwl::escape_json(h.method, out);
            out.push_str("\",\"url\":\"");
            super::cwl::escape_json(h.target, out);
            let _ = write!(out, "\",\"http_version\":\"1.1\",\"status\":{}", h.status);
            if !no_length(h.status) {
                let _ = write!(out, ",\"content_length\":\"{}\"", h.bytes);
            }
            if h.referrer != "-" {
                out.push_str(",\"referrer\":\"");
                super::cwl::escape_json(h.referrer, out);
                out.push('"');
            }
            out.push_str(",\"user_agent\":\"");
            super::cwl::escape_json(h.ua, out);
            let _ = write!(out, "\",\"response_time\":{:.3}}}", h.rt_ms);
        }
    }
}

/// The log streams of each service, with their formats.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    pub web: Vec<u32>,
    pub api: Vec<u32>,
    pub orders: Vec<u32>,
}

impl Routes {
    /// The format and a task stream (picked at random, as the balancer spreads load).
    fn pick(&self, app: App, rng: &mut SimRng) -> (Format, u32) {
        let (f, list) = match app {
            App::Web => (Format::Nginx, &self.web),
            App::Api => (Format::MorganCombined, &self.api),
            App::Orders => (Format::MorganJson, &self.orders),
        };
        let i = rng.random_range(0..list.len().max(1));
        (f, list.get(i).copied().unwrap_or(0))
    }

    /// Logs `h` on a task of the service its path routes to. The log event's timestamp
    /// is when the container's output was read, a few milliseconds after the line.
    pub(crate) fn emit(&self, sink: &mut Sink, h: &Hit<'_>, rng: &mut SimRng) {
        let path = h.target.split('?').next().unwrap_or(h.target);
        let (f, stream) = self.pick(App::for_path(path), rng);
        let mut s = String::with_capacity(200 + h.ua.len() + h.target.len());
        render(f, h, &mut s);
        let delay = rng.random_range(1..40);
        sink.push(h.ms + delay, stream, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(status: u16) -> Hit<'static> {
        Hit {
            ms: 1_709_547_330_123,
            ip: "81.2.69.160",
            method: "GET",
            target: "/search?q=\"boots\"",
            status,
            bytes: 5120,
            referrer: "https://shop.example.com/",
            ua: "Mozilla/5.0 (X11; Linux x86_64)",
            rt_ms: 43.2,
        }
    }

    #[test]
    fn nginx_line_is_combined_with_request_time_and_escapes_quotes() {
        let mut s = String::new();
        render(Format::Nginx, &hit(200), &mut s);
        assert_eq!(
            s,
            "81.2.69.160 - - [04/Mar/2024:10:15:30 +0000] \"GET /search?q=\\x22boots\\x22 HTTP/1.1\" \
             200 5120 \"https://shop.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64)\" 0.043"
        );
        s.clear();
        render(Format::Nginx, &hit(304), &mut s);
        assert!(s.contains("\" 304 0 \""), "{s}");
    }

    #[test]
    fn morgan_combined_has_no_length_on_304() {
        let mut s = String::new();
        render(Format::MorganCombined, &hit(304), &mut s);
        assert!(
            s.ends_with(" 304 - \"https://shop.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64)\""),
            "{s}"
        );
    }

    #[test]
    fn morgan_json_is_valid_json() -> Result<(), serde_json::Error> {
        let mut s = String::new();
        render(Format::MorganJson, &hit(201), &mut s);
        let v: serde_json::Value = serde_json::from_str(&s)?;
        assert_eq!(v["status"], 201);
        assert_eq!(v["url"], "/search?q=\"boots\"");
        assert_eq!(v["content_length"], "5120");
        assert_eq!(v["time"], "2024-03-04T10:15:30.123Z");
        assert_eq!(v["response_time"], 43.2);
        Ok(())
    }
}
