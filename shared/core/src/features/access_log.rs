//! The web access log feature schema (`access_log-v1`): one row per source address
//! per 60-second window (see [`super::window`]), and per-path windows for attacks
//! spread over many sources.
//!
//! A scanner asks for hundreds of paths that do not exist; a brute force posts to the
//! login page and gets 401s; a flood asks for one page again and again; an injection
//! carries SQL or script in its query. Each shows in the proportions of a source's
//! minute: how many requests, how many distinct and how rare the paths, which share
//! failed, how many hit a payload detection. Path frequencies are learned in training
//! and kept in the encoder; so is the busiest minute each path had.

use super::window::{
    EventIds, WindowMeta, is_internal, lg, rarity, ratio, top_k, window_schema, window_start,
};
use super::{FeatureDef, schema_hash};
use crate::intern::{Interner, Sym};
use crate::sources::access_log::AccessRecord;
use crate::sources::web_payload::{self, PayloadHits};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Source name of findings and models.
pub const SOURCE: &str = "access_log";
/// Schema id, recorded in models.
pub const SCHEMA_ID: &str = "access_log-v1";
/// Paths kept in the encoder's frequency table (the most requested).
pub const MAX_PATHS: usize = 5_000;
/// Longest normalised path kept (bytes).
const MAX_PATH_LEN: usize = 96;
/// Index of the scanner user-agent detection in `web_payload::RULES`.
const SCANNER_UA: usize = 8;

window_schema! {
    Requests = "requests", "log10(1 + requests from the source in the window)", "0–6";
    DistinctPaths = "distinct_paths", "log10(1 + distinct normalised paths it requested)", "0–5";
    TopPathShare = "top_path_share", "share of its requests that went to its most requested path", "0–1";
    WriteRatio = "write_ratio", "share of POST, PUT, PATCH and DELETE requests", "0–1";
    Status4xxRatio = "status_4xx_ratio", "share of responses with a 4xx status", "0–1";
    Status5xxRatio = "status_5xx_ratio", "share of responses with a 5xx status", "0–1";
    NotFoundRatio = "not_found_ratio", "share of 404 responses", "0–1";
    FailedLogins = "failed_logins", "log10(1 + POSTs to login-like paths answered 401 or 403)", "0–5";
    LoginRatio = "login_ratio", "share of requests that were POSTs to login-like paths", "0–1";
    BytesOut = "bytes_out", "log10(1 + response bytes sent to the source)", "0–12";
    MeanLatency = "mean_latency", "log10(1 + mean latency in ms; 0 when not logged)", "0–6";
    PayloadHits = "payload_hits", "log10(1 + requests matching a payload detection other than the scanner user agent)", "0–5";
    ScannerUa = "scanner_ua", "1 when a request carried a scanning tool's user agent", "0/1";
    DistinctAgents = "distinct_agents", "log10(1 + distinct user agents)", "0–4";
    PathRarity = "path_rarity", "mean over its requests of -log10 the share of training requests to the path", "0–7";
    NewPathRatio = "new_path_ratio", "share of its requests to paths never requested in training", "0–1";
    Internal = "internal", "1 when the source address is private (office, VPC)", "0/1";
}

/// The schema hash of `access_log-v1`.
pub fn hash() -> String {
    schema_hash(SCHEMA_ID, FEATURES)
}

/// The schema's columns (for `model info` and the README).
pub fn features() -> &'static [FeatureDef] {
    FEATURES
}

/// What training learned about the site: how often each path is requested and how
/// busy each path's busiest minute was.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccessLogEncoder {
    /// Training requests.
    pub n: u64,
    /// Requests per normalised path (the [`MAX_PATHS`] most requested).
    pub paths: BTreeMap<String, u64>,
    /// Most requests one path received in one window, per path (same paths).
    pub path_window_max: BTreeMap<String, u64>,
    /// Most requests any path received in one window.
    pub busiest_path_window: u64,
    /// Most failed logins any path received in one window.
    pub failed_login_window_max: u64,
    /// Most distinct sources any path had in one window.
    pub path_sources_max: u64,
    /// Busiest minute (requests) of each source seen in training, for the
    /// [`MAX_SOURCES`] busiest sources.
    pub sources: BTreeMap<String, u64>,
}

/// Most sources whose busiest minute the encoder keeps.
pub const MAX_SOURCES: usize = 20_000;

impl AccessLogEncoder {
    /// Learns from one batch (call [`AccessLogEncoder::finish`] after the last).
    pub fn observe(&mut self, batch: &WebBatch) {
        let w = WebWindows::build(batch, None);
        self.n += batch.events.len() as u64;
        for e in &batch.events {
            *self
                .paths
                .entry(batch.strings.resolve(e.path).to_owned())
                .or_default() += 1;
        }
        for p in &w.paths {
            let key = batch.strings.resolve(p.path);
            let slot = self.path_window_max.entry(key.to_owned()).or_default();
            *slot = (*slot).max(p.requests);
            self.busiest_path_window = self.busiest_path_window.max(p.requests);
            self.failed_login_window_max = self.failed_login_window_max.max(p.failed_logins);
            self.path_sources_max = self.path_sources_max.max(p.sources);
        }
        for s in &w.src {
            let slot = self.sources.entry(s.remote.to_string()).or_default();
            *slot = (*slot).max(s.requests);
        }
    }

    /// Keeps the [`MAX_PATHS`] most requested paths.
    pub fn finish(&mut self) {
        if self.paths.len() > MAX_PATHS {
            let mut v: Vec<(String, u64)> = std::mem::take(&mut self.paths).into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(MAX_PATHS);
            self.paths = v.into_iter().collect();
        }
        let paths = &self.paths;
        self.path_window_max.retain(|k, _| paths.contains_key(k));
        if self.sources.len() > MAX_SOURCES {
            let mut v: Vec<(String, u64)> = std::mem::take(&mut self.sources).into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(MAX_SOURCES);
            self.sources = v.into_iter().collect();
        }
    }

    /// Whether a source sent this many requests in some training minute (within a
    /// factor 2).
    pub fn familiar(&self, remote: IpAddr, requests: u64) -> bool {
        self.sources
            .get(&remote.to_string())
            .is_some_and(|&m| requests <= 2 * m)
    }

    /// The busiest minute a path had in training (0 for a path not kept).
    pub fn path_max(&self, path: &str) -> u64 {
        self.path_window_max.get(path).copied().unwrap_or(0)
    }
}

/// One request, reduced to what the features need.
#[derive(Debug, Clone, Copy)]
pub struct WebEvent {
    /// Request time (epoch seconds): the logged time, else the CloudWatch timestamp.
    pub time: i64,
    /// Client address.
    pub remote: IpAddr,
    /// Normalised path.
    pub path: Sym,
    /// `METHOD path` as logged (query left out), for findings.
    pub line: Sym,
    /// User agent.
    pub agent: Sym,
    /// Response status.
    pub status: u16,
    /// Response bytes.
    pub bytes: u64,
    /// Latency in ms (NaN when not logged).
    pub latency_ms: f32,
    /// POST, PUT, PATCH or DELETE.
    pub write: bool,
    /// A POST to a login-like path.
    pub login: bool,
    /// Payload detections.
    pub hits: PayloadHits,
}

impl WebEvent {
    /// A login attempt refused with 401 or 403.
    pub fn failed_login(&self) -> bool {
        self.login && matches!(self.status, 401 | 403)
    }
}

/// The requests of one batch (one payload, or a whole file for the CLI).
#[derive(Debug, Default)]
pub struct WebBatch {
    /// Requests in arrival order.
    pub events: Vec<WebEvent>,
    /// CloudWatch Logs event id of each request.
    pub ids: EventIds,
    /// Interned paths, request lines and user agents.
    pub strings: Interner,
    /// Lines that did not parse.
    pub skipped: u64,
    /// AWS account (the payload's `owner`).
    pub account: String,
    scratch: String,
}

/// Whether a path looks like a login endpoint.
pub fn login_path(path: &str) -> bool {
    let p = path.as_bytes();
    [
        "login", "signin", "sign-in", "sign_in", "auth", "session", "token", "logon",
    ]
    .iter()
    .any(|k| memchr::memmem::find(p, k.as_bytes()).is_some())
        || p.eq_ignore_ascii_case(b"/wp-login.php")
}

/// Normalises a path for counting: numbers and long hex or id-like segments become
/// `{id}`, and the result is cut to 96 bytes.
pub fn normalise_path(path: &str, out: &mut String) {
    out.clear();
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let id_like = !seg.is_empty()
            && (seg.bytes().all(|b| b.is_ascii_digit())
                || (seg.len() >= 16 && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')));
        out.push_str(if id_like { "{id}" } else { seg });
        if out.len() > MAX_PATH_LEN {
            break;
        }
    }
    if out.len() > MAX_PATH_LEN {
        let mut cut = MAX_PATH_LEN;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
}

impl WebBatch {
    /// Adds one parsed request with its CloudWatch Logs id and timestamp (ms).
    pub fn push(&mut self, id: &str, timestamp_ms: i64, r: &AccessRecord<'_>) {
        let path: &str = &r.path;
        let method: &str = &r.method;
        let mut scratch = std::mem::take(&mut self.scratch);
        normalise_path(path, &mut scratch);
        let norm = self.strings.intern(&scratch);
        scratch.clear();
        scratch.push_str(method);
        scratch.push(' ');
        let room = 160usize.saturating_sub(scratch.len());
        let mut cut = path.len().min(room);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        scratch.push_str(&path[..cut]);
        let line = self.strings.intern(&scratch);
        self.scratch = scratch;
        let agent = self.strings.intern(&r.user_agent);
        let hits = web_payload::inspect(path, r.query.as_deref(), &r.user_agent);
        let write = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
        self.ids.push(id);
        self.events.push(WebEvent {
            time: r.time.unwrap_or(timestamp_ms.div_euclid(1000)),
            remote: r.remote,
            path: norm,
            line,
            agent,
            status: r.status,
            bytes: r.bytes,
            latency_ms: r.latency_ms.unwrap_or(f32::NAN),
            write,
            login: method == "POST" && login_path(path),
            hits,
        });
    }
}

/// One source address in one window.
#[derive(Debug, Clone)]
pub struct SrcWindow {
    /// Window bounds, first event, top paths.
    pub meta: WindowMeta,
    /// Source address.
    pub remote: IpAddr,
    /// Requests.
    pub requests: u64,
    writes: u64,
    s4xx: u64,
    s5xx: u64,
    /// 404 responses.
    pub not_found: u64,
    /// Failed logins.
    pub failed_logins: u64,
    logins: u64,
    bytes: u64,
    lat_sum: f64,
    lat_n: u64,
    /// Requests with a payload detection other than the scanner user agent.
    pub payload_requests: u64,
    /// Every payload detection seen.
    pub hits: PayloadHits,
    /// Distinct normalised paths.
    pub distinct_paths: u64,
    agents: u64,
    rarity_sum: f64,
    new_paths: u64,
    /// The first request of the window with a payload detection (batch index).
    pub first_hit: Option<u32>,
    /// The source sent this many requests in some training minute, to known paths.
    pub familiar: bool,
}

/// One normalised path in one window, over all sources.
#[derive(Debug, Clone)]
pub struct PathWindow {
    /// Window bounds, first event, top sources (as text).
    pub meta: WindowMeta,
    /// The path.
    pub path: Sym,
    /// Requests.
    pub requests: u64,
    /// Distinct sources.
    pub sources: u64,
    /// Failed logins.
    pub failed_logins: u64,
    /// 5xx responses.
    pub s5xx: u64,
}

/// The windows of a batch and which windows each request belongs to.
#[derive(Debug)]
pub struct WebWindows {
    /// Per-source windows.
    pub src: Vec<SrcWindow>,
    /// Window of each request in `src`.
    pub src_of: Vec<u32>,
    /// Per-path windows.
    pub paths: Vec<PathWindow>,
    /// Window of each request in `paths`.
    pub path_of: Vec<u32>,
    /// Requests from each `src` window to each path window: (src, path) → count.
    pub src_path: FxHashMap<(u32, u32), u64>,
}

impl WebWindows {
    /// Aggregates a batch; with an encoder, also path rarity and novelty.
    pub fn build(batch: &WebBatch, enc: Option<&AccessLogEncoder>) -> Self {
        let n_syms = batch.strings.len();
        // Per-symbol rarity and novelty, looked up once per distinct path.
        let mut rar: Vec<(f32, bool)> = Vec::new();
        if let Some(enc) = enc {
            rar = vec![(0.0, false); n_syms];
            let mut done = vec![false; n_syms];
            for e in &batch.events {
                let i = e.path.index();
                if !done[i] {
                    done[i] = true;
                    let c = enc
                        .paths
                        .get(batch.strings.resolve(e.path))
                        .copied()
                        .unwrap_or(0);
                    rar[i] = (rarity(c, enc.n), c == 0);
                }
            }
        }
        let mut src_ix: FxHashMap<(IpAddr, i64), u32> = FxHashMap::default();
        let mut path_ix: FxHashMap<(Sym, i64), u32> = FxHashMap::default();
        let mut src: Vec<SrcWindow> = Vec::new();
        let mut paths: Vec<PathWindow> = Vec::new();
        let mut src_of = Vec::with_capacity(batch.events.len());
        let mut path_of = Vec::with_capacity(batch.events.len());
        let mut src_path_count: FxHashMap<(u32, Sym), u64> = FxHashMap::default();
        let mut src_path: FxHashMap<(u32, u32), u64> = FxHashMap::default();
        let mut src_agent: FxHashSet<(u32, Sym)> = FxHashSet::default();
        let mut path_src: FxHashMap<(u32, IpAddr), u64> = FxHashMap::default();
        for (i, e) in batch.events.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            let ws = window_start(e.time);
            let si = *src_ix.entry((e.remote, ws)).or_insert_with(|| {
                src.push(SrcWindow::new(e, idx));
                u32::try_from(src.len() - 1).unwrap_or(u32::MAX)
            });
            let pi = *path_ix.entry((e.path, ws)).or_insert_with(|| {
                paths.push(PathWindow {
                    meta: WindowMeta::new(e.time, idx),
                    path: e.path,
                    requests: 0,
                    sources: 0,
                    failed_logins: 0,
                    s5xx: 0,
                });
                u32::try_from(paths.len() - 1).unwrap_or(u32::MAX)
            });
            src_of.push(si);
            path_of.push(pi);
            let s = &mut src[si as usize];
            s.add(e, idx);
            let c = src_path_count.entry((si, e.path)).or_default();
            if *c == 0 {
                s.distinct_paths += 1;
            }
            *c += 1;
            *src_path.entry((si, pi)).or_default() += 1;
            if src_agent.insert((si, e.agent)) {
                s.agents += 1;
            }
            if let Some(&(r, new)) = rar.get(e.path.index()) {
                s.rarity_sum += f64::from(r);
                s.new_paths += u64::from(new);
            }
            let p = &mut paths[pi as usize];
            p.meta.see(e.time, idx);
            p.requests += 1;
            p.failed_logins += u64::from(e.failed_login());
            p.s5xx += u64::from(e.status >= 500);
            let c = path_src.entry((pi, e.remote)).or_default();
            if *c == 0 {
                p.sources += 1;
            }
            *c += 1;
        }
        // Top paths per source window.
        let mut per_src: Vec<Vec<(Sym, u64)>> = vec![Vec::new(); src.len()];
        for (&(si, path), &c) in &src_path_count {
            per_src[si as usize].push((path, c));
        }
        for (w, v) in src.iter_mut().zip(per_src) {
            w.meta.top = top_k(v.into_iter(), 3);
            w.familiar = enc.is_some_and(|e| w.new_paths == 0 && e.familiar(w.remote, w.requests));
        }
        Self {
            src,
            src_of,
            paths,
            path_of,
            src_path,
        }
    }

    /// The feature row of a source window.
    pub fn row(&self, w: &SrcWindow) -> Row {
        let mut r = [0f32; N_FEATURES];
        let n = w.requests;
        let top = w.meta.top.first().map_or(0, |t| t.1);
        let mut set = |c: Col, v: f32| r[c as usize] = v;
        set(Col::Requests, lg(n as f64));
        set(Col::DistinctPaths, lg(w.distinct_paths as f64));
        set(Col::TopPathShare, ratio(top, n));
        set(Col::WriteRatio, ratio(w.writes, n));
        set(Col::Status4xxRatio, ratio(w.s4xx, n));
        set(Col::Status5xxRatio, ratio(w.s5xx, n));
        set(Col::NotFoundRatio, ratio(w.not_found, n));
        set(Col::FailedLogins, lg(w.failed_logins as f64));
        set(Col::LoginRatio, ratio(w.logins, n));
        set(Col::BytesOut, lg(w.bytes as f64));
        let lat = if w.lat_n > 0 {
            w.lat_sum / w.lat_n as f64
        } else {
            0.0
        };
        set(Col::MeanLatency, lg(lat));
        set(Col::PayloadHits, lg(w.payload_requests as f64));
        set(
            Col::ScannerUa,
            f32::from(u8::from(w.hits.contains(SCANNER_UA))),
        );
        set(Col::DistinctAgents, lg(w.agents as f64));
        set(
            Col::PathRarity,
            if n > 0 {
                (w.rarity_sum / n as f64) as f32
            } else {
                0.0
            },
        );
        set(Col::NewPathRatio, ratio(w.new_paths, n));
        set(Col::Internal, f32::from(u8::from(is_internal(w.remote))));
        r
    }
}

impl SrcWindow {
    fn new(e: &WebEvent, idx: u32) -> Self {
        Self {
            meta: WindowMeta::new(e.time, idx),
            remote: e.remote,
            requests: 0,
            writes: 0,
            s4xx: 0,
            s5xx: 0,
            not_found: 0,
            failed_logins: 0,
            logins: 0,
            bytes: 0,
            lat_sum: 0.0,
            lat_n: 0,
            payload_requests: 0,
            hits: PayloadHits::default(),
            distinct_paths: 0,
            agents: 0,
            rarity_sum: 0.0,
            new_paths: 0,
            first_hit: None,
            familiar: false,
        }
    }

    fn add(&mut self, e: &WebEvent, idx: u32) {
        self.meta.see(e.time, idx);
        self.requests += 1;
        self.writes += u64::from(e.write);
        self.s4xx += u64::from((400..500).contains(&e.status));
        self.s5xx += u64::from(e.status >= 500);
        self.not_found += u64::from(e.status == 404);
        self.failed_logins += u64::from(e.failed_login());
        self.logins += u64::from(e.login);
        self.bytes += e.bytes;
        if e.latency_ms.is_finite() {
            self.lat_sum += f64::from(e.latency_ms);
            self.lat_n += 1;
        }
        if !e.hits.is_empty() {
            self.hits = self.hits.union(e.hits);
            if e.hits.indices().any(|i| i != SCANNER_UA) {
                self.payload_requests += 1;
                if self.first_hit.is_none() {
                    self.first_hit = Some(idx);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::{AccessFormat, parse_line};

    fn batch(lines: &[&str]) -> WebBatch {
        let mut b = WebBatch::default();
        for (i, l) in lines.iter().enumerate() {
            let r = parse_line(l, AccessFormat::NginxCombined).unwrap();
            b.push(&format!("{i}"), 0, &r);
        }
        b
    }

    fn line(ip: &str, sec: u32, req: &str, status: u16) -> String {
        format!(
            "{ip} - - [04/Mar/2024:10:15:{sec:02} +0000] \"{req} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\""
        )
    }

    #[test]
    fn brute_force_shows_as_failed_logins_in_one_window() {
        let mut lines: Vec<String> = (0..30)
            .map(|i| line("203.0.113.9", i, "POST /login", 401))
            .collect();
        lines.push(line("198.51.100.7", 5, "GET /", 200));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let b = batch(&refs);
        let w = WebWindows::build(&b, None);
        assert_eq!(w.src.len(), 2);
        let bf = &w.src[0];
        assert_eq!(bf.requests, 30);
        assert_eq!(bf.failed_logins, 30);
        assert_eq!(bf.distinct_paths, 1);
        let row = w.row(bf);
        assert!((row[Col::TopPathShare as usize] - 1.0).abs() < 1e-6);
        assert!(row[Col::FailedLogins as usize] > 1.4);
        assert_eq!(w.src_of[30], 1);
        let login = &w.paths[w.path_of[0] as usize];
        assert_eq!(login.failed_logins, 30);
        assert_eq!(login.sources, 1);
    }

    #[test]
    fn rarity_needs_the_encoder() {
        let b = batch(&[
            &line("198.51.100.7", 1, "GET /", 200),
            &line("198.51.100.7", 2, "GET /etc/passwd", 404),
        ]);
        let mut enc = AccessLogEncoder::default();
        enc.observe(&batch(&[&line("10.0.0.1", 1, "GET /", 200)]));
        enc.finish();
        let w = WebWindows::build(&b, Some(&enc));
        let row = w.row(&w.src[0]);
        assert!((row[Col::NewPathRatio as usize] - 0.5).abs() < 1e-6);
        assert!(row[Col::PathRarity as usize] > 3.0);
    }

    #[test]
    fn paths_are_normalised() {
        let mut s = String::new();
        normalise_path("/users/12345/orders/9f8e7d6c5b4a39281726", &mut s);
        assert_eq!(s, "/users/{id}/orders/{id}");
        normalise_path(&"/a".repeat(100), &mut s);
        assert!(s.len() <= MAX_PATH_LEN);
        assert!(login_path("/api/v1/auth/login"));
        assert!(!login_path("/products/42"));
    }
}
