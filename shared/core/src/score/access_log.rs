//! Scores web access logs: one finding per source address and minute (model,
//! threshold rules, payload detections), plus one per path and minute when a
//! flood or credential stuffing is spread over many sources.
//!
//! Rules (thresholds per 60-second window):
//! - `web.brute_force` (T1110.001): at least 20 failed logins (POST to a login-like
//!   path answered 401/403) from one address.
//! - `web.content_scan` (T1595.003): at least 40 distinct paths from one address,
//!   at least half of them answered 404.
//! - `web.http_flood` (T1498): one path gets at least 3 times its busiest training
//!   minute (and at least 300 requests) from at least 10 sources.
//! - `web.credential_stuffing` (T1110.004): one login path gets at least 20 failed
//!   logins (and 3 times the training maximum) from at least 5 sources.
//! - the payload detections of [`crate::sources::web_payload`] (SQL injection, XSS,
//!   traversal, …), folded into the window of the address that sent them.

use super::net::{RuleHit, Scored, WindowCase, model_verdict, window_finding, window_text};
use crate::features::access_log::{
    AccessLogEncoder, FEATURES, SOURCE, SrcWindow, WebBatch, WebEvent, WebWindows,
};
use crate::features::window::WINDOW_SECS;
use crate::models::artifact::{Encoder, Model};

/// Failed logins from one address in a window that make a brute force.
pub const BRUTE_FORCE_FAILS: u64 = 20;
/// Distinct paths from one address in a window that make a content scan.
pub const SCAN_PATHS: u64 = 40;
/// Least requests to one path in a window for a flood.
pub const FLOOD_MIN_REQUESTS: u64 = 300;
/// Least sources of a flood or credential stuffing.
pub const FLOOD_MIN_SOURCES: u64 = 10;
/// Least failed logins on one path in a window for credential stuffing.
pub const STUFFING_FAILS: u64 = 20;
/// Least sources of credential stuffing.
pub const STUFFING_SOURCES: u64 = 5;
/// A source takes part in a flood when it sent at least this many requests to the path.
const FLOOD_PARTICIPANT: u64 = 3;

/// Scores a batch. Without a model (or with a model of another source) only the
/// rules and payload detections fire.
pub fn score(batch: &WebBatch, model: Option<&Model>) -> Scored {
    score_with(batch, model, true)
}

/// Scores `batch` like [`score`]; with `keep_all` false only the windows that reach a
/// severity get a finding (quiet ones cost no strings) and no event is mapped to its
/// finding, so [`Scored::per_event`] is empty: what a scan without `--all` needs.
pub fn score_with(batch: &WebBatch, model: Option<&Model>, keep_all: bool) -> Scored {
    let model = model.filter(|m| matches!(m.encoder, Encoder::AccessLog(_)));
    let enc = model.and_then(|m| match &m.encoder {
        Encoder::AccessLog(e) => Some(e),
        _ => None,
    });
    let w = WebWindows::build(batch, enc);
    let mut out = Scored {
        findings: Vec::with_capacity(if keep_all { w.src.len() } else { 0 }),
        event_finding: Vec::with_capacity(if keep_all { batch.events.len() } else { 0 }),
    };
    let mut slots = Vec::with_capacity(if keep_all { w.src.len() } else { 0 });
    for s in &w.src {
        let row = w.row(s);
        let verdict = model.map(|m| model_verdict(m, &row, FEATURES, s.familiar));
        let loud = verdict.as_ref().is_some_and(|v| v.severity.is_some());
        let Some((case, about)) = src_case(batch, s, keep_all || loud) else {
            continue;
        };
        let rest_action = first_line(batch, s.meta.first_event);
        let slot = out.push_window(case, rest_action, verdict.as_ref(), model);
        slots.push((slot, about));
    }
    if keep_all {
        for (e, &si) in batch.events.iter().zip(&w.src_of) {
            let Some((slot, about)) = slots.get(si as usize) else {
                continue;
            };
            let idx = match slot.rest {
                Some(rest) if !about.covers(e) => rest,
                _ => slot.main,
            };
            out.event_finding.push(idx);
        }
    }

    for (pi, p) in w.paths.iter().enumerate() {
        let path = batch.strings.resolve(p.path);
        let mut rules = Vec::new();
        let (flood_min, stuffing_min) = thresholds(enc, path);
        let flood = p.requests >= flood_min && p.sources >= FLOOD_MIN_SOURCES;
        if flood {
            rules.push(RuleHit {
                id: "web.http_flood",
                technique: "T1498",
                severity: if p.s5xx * 10 >= p.requests { 8.0 } else { 7.0 },
                reason: format!(
                    "HTTP flood: {} requests to {path} from {} sources in one minute ({} answered 5xx)",
                    p.requests, p.sources, p.s5xx
                ),
            });
        }
        let stuffing = p.failed_logins >= stuffing_min && p.sources >= STUFFING_SOURCES;
        if stuffing {
            rules.push(RuleHit {
                id: "web.credential_stuffing",
                technique: "T1110.004",
                severity: 7.0,
                reason: format!(
                    "credential stuffing: {} failed logins on {path} from {} sources in one minute",
                    p.failed_logins, p.sources
                ),
            });
        }
        if rules.is_empty() {
            continue;
        }
        let what = if flood {
            "http flood to"
        } else {
            "credential stuffing on"
        };
        let case = WindowCase {
            source: SOURCE,
            key: format!("path:{path}@{}", p.meta.start),
            first_event_id: batch.ids.get(p.meta.first_event),
            time: p.meta.first_time,
            account: &batch.account,
            region: "",
            principal: format!("{} sources", p.sources),
            action: format!("{what} {path}"),
            rules,
            evidence: vec![format!(
                "window {}; {} requests, {} failed logins, {} answered 5xx",
                window_text(p.meta.start, WINDOW_SECS),
                p.requests,
                p.failed_logins,
                p.s5xx
            )],
        };
        let f = window_finding(case, None, model);
        let fi = u32::try_from(out.findings.len()).unwrap_or(u32::MAX);
        out.findings.push(f);
        if !keep_all {
            continue;
        }
        let pi = u32::try_from(pi).unwrap_or(u32::MAX);
        for (i, e) in batch.events.iter().enumerate() {
            if w.path_of[i] != pi {
                continue;
            }
            let part = (stuffing && e.failed_login())
                || (flood
                    && w.src_path.get(&(w.src_of[i], pi)).copied().unwrap_or(0)
                        >= FLOOD_PARTICIPANT);
            if part {
                out.claim(i, fi);
            }
        }
    }
    out
}

/// Flood and credential-stuffing thresholds of a path: learned where a model is.
fn thresholds(enc: Option<&AccessLogEncoder>, path: &str) -> (u64, u64) {
    match enc {
        Some(e) => {
            let busiest = match e.path_max(path) {
                0 => e.busiest_path_window,
                m => m,
            };
            (
                (3 * busiest).max(FLOOD_MIN_REQUESTS),
                (3 * e.failed_login_window_max).max(STUFFING_FAILS),
            )
        }
        None => (2 * FLOOD_MIN_REQUESTS, STUFFING_FAILS),
    }
}

/// Which requests of a window its rules are about.
#[derive(Debug, Default, Clone, Copy)]
struct About {
    all: bool,
    logins: bool,
    payloads: bool,
}

impl About {
    fn covers(&self, e: &WebEvent) -> bool {
        self.all || (self.logins && e.login) || (self.payloads && !e.hits.is_empty())
    }
}

fn first_line(batch: &WebBatch, event: u32) -> String {
    batch
        .events
        .get(event as usize)
        .map(|e| batch.strings.resolve(e.line).to_owned())
        .unwrap_or_default()
}

/// The rules and evidence of one source window, and which requests they are about.
fn src_case<'a>(
    batch: &'a WebBatch,
    s: &SrcWindow,
    build_quiet: bool,
) -> Option<(WindowCase<'a>, About)> {
    let mut about = About::default();
    let mut rules = Vec::new();
    let mut action = None;
    if s.failed_logins >= BRUTE_FORCE_FAILS {
        let target = s
            .meta
            .top
            .first()
            .map_or("", |t| batch.strings.resolve(t.0));
        rules.push(RuleHit {
            id: "web.brute_force",
            technique: "T1110.001",
            severity: if s.failed_logins >= 5 * BRUTE_FORCE_FAILS {
                8.0
            } else {
                7.0
            },
            reason: format!(
                "brute force: {} failed logins from {} in one minute",
                s.failed_logins, s.remote
            ),
        });
        action = Some(format!("brute force on POST {target}"));
        about.logins = true;
    }
    if s.distinct_paths >= SCAN_PATHS && 2 * s.not_found >= s.requests {
        rules.push(RuleHit {
            id: "web.content_scan",
            technique: "T1595.003",
            severity: 6.0,
            reason: format!(
                "content scan: {} distinct paths requested in one minute, mostly not found",
                s.distinct_paths
            ),
        });
        action.get_or_insert_with(|| format!("content scan ({} paths)", s.distinct_paths));
        about.all = true;
    }
    about.payloads = !s.hits.is_empty();
    for r in s.hits.iter() {
        rules.push(RuleHit {
            id: r.id,
            technique: r.technique,
            severity: r.severity,
            reason: format!("{} in {} request(s)", r.title, s.payload_requests.max(1)),
        });
    }
    if !build_quiet && rules.is_empty() {
        return None;
    }
    let top = s.meta.top_text(&batch.strings, 3);
    let first_hit_line = s
        .first_hit
        .and_then(|i| batch.events.get(i as usize))
        .map(|e| batch.strings.resolve(e.line).to_owned());
    let action = action
        .or(first_hit_line)
        .unwrap_or_else(|| first_line(batch, s.meta.first_event));
    let case = WindowCase {
        source: SOURCE,
        key: format!("src:{}@{}", s.remote, s.meta.start),
        first_event_id: batch.ids.get(s.meta.first_event),
        time: s.meta.first_time,
        account: &batch.account,
        region: "",
        principal: s.remote.to_string(),
        action,
        rules,
        evidence: vec![
            format!(
                "{} requests from {} in window {} ({} distinct paths, {} failed logins)",
                s.requests,
                s.remote,
                window_text(s.meta.start, WINDOW_SECS),
                s.distinct_paths,
                s.failed_logins
            ),
            format!("top paths: {top}"),
        ],
    };
    Some((case, about))
}
