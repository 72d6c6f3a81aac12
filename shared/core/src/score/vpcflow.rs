//! Scores VPC Flow Logs: one finding per source address and minute (model and
//! threshold rules), plus one per destination and minute for floods from many
//! (often spoofed) sources.
//!
//! Rules (thresholds per 60-second window):
//! - `net.port_scan` (T1046): one source reaches at least 100 destination ports, or
//!   at least 25 ports or 25 hosts with at least half of its flows rejected.
//! - `net.brute_force` (T1110.001): at least 10 flows from one source to one admin
//!   port (SSH, RDP, …) on a pair never seen in training.
//! - `net.exfiltration` (T1048): at least 100 MB (and 3 times the training maximum)
//!   sent to one public address never contacted in training.
//! - `net.lateral_movement` (T1021): an internal source reaches at least 3 internal
//!   hosts on admin ports it never used in training.
//! - `net.syn_flood` (T1498): one destination gets flows from at least 200 sources
//!   (and 5 times its training maximum), at least 80% of them of 3 packets or fewer.

use super::net::{
    RuleHit, Scored, WindowCase, WindowSlots, model_verdict, window_finding, window_text,
};
use crate::features::vpcflow::{
    ADMIN_PORTS, FEATURES, FlowBatch, FlowEvent, FlowWindows, SOURCE, SrcWindow, VpcFlowEncoder,
};
use crate::features::window::{WINDOW_SECS, is_internal, window_start};
use crate::models::artifact::{Encoder, Model};

/// Distinct ports of a port scan (any outcome).
pub const SCAN_PORTS: u64 = 100;
/// Distinct ports or hosts of a mostly rejected scan.
pub const SCAN_REJECTED: u64 = 25;
/// Flows to one admin port of a brute force.
pub const BRUTE_FORCE_FLOWS: u64 = 10;
/// Bytes to one new public address of an exfiltration.
pub const EXFIL_BYTES: u64 = 100_000_000;
/// New internal hosts on admin ports of lateral movement.
pub const LATERAL_HOSTS: u64 = 3;
/// Sources of a SYN flood.
pub const FLOOD_SOURCES: u64 = 200;

/// Scores a batch. Without a model (or with a model of another source) only the
/// rules fire, and those that need training baselines use fixed thresholds.
pub fn score(batch: &FlowBatch, model: Option<&Model>) -> Scored {
    score_with(batch, model, true)
}

/// Scores `batch` like [`score`]; with `keep_all` false only the windows that reach a
/// severity get a finding (quiet ones cost no strings) and no event is mapped to its
/// finding, so [`Scored::per_event`] is empty: what a scan without `--all` needs.
pub fn score_with(batch: &FlowBatch, model: Option<&Model>, keep_all: bool) -> Scored {
    let model = model.filter(|m| matches!(m.encoder, Encoder::VpcFlow(_)));
    let enc = model.and_then(|m| match &m.encoder {
        Encoder::VpcFlow(e) => Some(e),
        _ => None,
    });
    let w = FlowWindows::build(batch, enc);
    let mut out = Scored {
        findings: Vec::with_capacity(if keep_all { w.src.len() } else { 0 }),
        event_finding: Vec::with_capacity(if keep_all { batch.events.len() } else { 0 }),
    };
    let mut slots = Vec::with_capacity(if keep_all { w.src.len() } else { 0 });
    for s in &w.src {
        let row = w.row(s);
        let verdict = model.map(|m| model_verdict(m, &row, FEATURES, s.familiar));
        let loud = verdict.as_ref().is_some_and(|v| v.severity.is_some());
        let Some((case, about)) = src_case(batch, s, enc, keep_all || loud) else {
            continue;
        };
        let rest_action = case.action.clone();
        let slot = out.push_window(case, rest_action, verdict.as_ref(), model);
        slots.push((slot, about));
    }
    if keep_all {
        map_events(batch, &w, &slots, &mut out);
    }
    flood_windows(batch, &w, enc, model, keep_all, &mut out);
    out
}

/// Maps every event to its source window's finding, or the other direction of a
/// flagged conversation to that conversation's.
fn map_events(
    batch: &FlowBatch,
    w: &FlowWindows,
    slots: &[(WindowSlots, About)],
    out: &mut Scored,
) {
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
    // The other direction of a flagged conversation (the bastion's answers to a
    // brute force, the acknowledgements of an exfiltration) is part of it too.
    let mut ruled: rustc_hash::FxHashMap<(std::net::IpAddr, i64), (u32, About)> =
        rustc_hash::FxHashMap::default();
    for (s, (slot, about)) in w.src.iter().zip(slots) {
        if slot.rest.is_some() {
            ruled.insert((s.src, s.meta.start), (slot.main, *about));
        }
    }
    if !ruled.is_empty() {
        for (i, e) in batch.events.iter().enumerate() {
            if let Some(&(main, about)) = ruled.get(&(e.dst, window_start(e.time))) {
                if about.covers_reverse(e) {
                    out.claim(i, main);
                }
            }
        }
    }
}

/// One finding per destination and minute flooded from many sources.
fn flood_windows(
    batch: &FlowBatch,
    w: &FlowWindows,
    enc: Option<&VpcFlowEncoder>,
    model: Option<&Model>,
    keep_all: bool,
    out: &mut Scored,
) {
    let min_sources = enc.map_or(FLOOD_SOURCES, |e| {
        (5 * e.dst_sources_max).max(FLOOD_SOURCES)
    });
    for (di, d) in w.dsts.iter().enumerate() {
        if d.sources < min_sources || d.tiny * 10 < d.flows * 8 {
            continue;
        }
        let dst = batch.strings.resolve(d.dst);
        let case = WindowCase {
            source: SOURCE,
            key: format!("dst:{dst}@{}", d.meta.start),
            first_event_id: batch.ids.get(d.meta.first_event),
            time: d.meta.first_time,
            account: &batch.account,
            region: &batch.region,
            principal: format!("{} sources", d.sources),
            action: format!("syn flood to {dst}"),
            rules: vec![RuleHit {
                id: "net.syn_flood",
                technique: "T1498",
                severity: 7.5,
                reason: format!(
                    "flood: {} flows to {dst} from {} sources in one minute, {} of 3 packets or fewer",
                    d.flows, d.sources, d.tiny
                ),
            }],
            evidence: vec![format!(
                "window {}; {} packets, {} flows rejected",
                window_text(d.meta.start, WINDOW_SECS),
                d.packets,
                d.rejects
            )],
        };
        let fi = u32::try_from(out.findings.len()).unwrap_or(u32::MAX);
        out.findings.push(window_finding(case, None, model));
        if !keep_all {
            continue;
        }
        let di = u32::try_from(di).unwrap_or(u32::MAX);
        for (i, e) in batch.events.iter().enumerate() {
            if w.dst_of[i] == di && e.packets <= 3 {
                out.claim(i, fi);
            }
        }
    }
}

/// Which flows of a window its rules are about.
#[derive(Debug, Default, Clone, Copy)]
struct About {
    all: bool,
    port: Option<u16>,
    external: bool,
    internal_admin: bool,
}

impl About {
    fn covers(&self, e: &FlowEvent) -> bool {
        self.all
            || self.port == Some(e.dst_port)
            || (self.external && !is_internal(e.dst))
            || (self.internal_admin && is_internal(e.dst) && ADMIN_PORTS.contains(&e.dst_port))
    }

    /// Whether a flow towards the window's source answers one of the flows covered.
    fn covers_reverse(&self, e: &FlowEvent) -> bool {
        self.all
            || self.port == Some(e.src_port)
            || (self.external && !is_internal(e.src))
            || (self.internal_admin && is_internal(e.src) && ADMIN_PORTS.contains(&e.src_port))
    }
}

/// The rules and evidence of one source window, and which flows they are about.
fn src_case<'a>(
    batch: &'a FlowBatch,
    s: &SrcWindow,
    enc: Option<&VpcFlowEncoder>,
    build_quiet: bool,
) -> Option<(WindowCase<'a>, About)> {
    let mut about = About::default();
    let mut rules = Vec::new();
    let mut action = None;
    let mostly_rejected = 2 * s.rejects >= s.flows;
    let external_src = !is_internal(s.src);
    if s.distinct_ports >= SCAN_PORTS
        || (mostly_rejected
            && (s.distinct_ports >= SCAN_REJECTED || s.distinct_dsts >= SCAN_REJECTED))
    {
        rules.push(RuleHit {
            id: "net.port_scan",
            technique: "T1046",
            severity: if mostly_rejected { 6.5 } else { 6.0 },
            reason: format!(
                "port scan: {} ports on {} hosts in one minute, {} of {} flows rejected",
                s.distinct_ports, s.distinct_dsts, s.rejects, s.flows
            ),
        });
        action = Some(format!("port scan of {} ports", s.distinct_ports));
        about.all = true;
    }
    let (port, port_flows) = s.top_port;
    let new_pairs = enc.is_none() || s.new_pairs > 0;
    if ADMIN_PORTS.contains(&port) && port_flows >= BRUTE_FORCE_FLOWS && new_pairs {
        rules.push(RuleHit {
            id: "net.brute_force",
            technique: "T1110.001",
            severity: 6.5,
            reason: format!("brute force: {port_flows} connections to port {port} in one minute"),
        });
        action.get_or_insert_with(|| format!("brute force on port {port}"));
        about.port = Some(port);
    }
    let exfil_min = enc.map_or(10 * EXFIL_BYTES, |e| {
        (3 * e.external_bytes_max).max(EXFIL_BYTES)
    });
    let new_dst = enc.is_none() || s.new_dst_bytes > 0;
    if s.top_external_bytes >= exfil_min && new_dst {
        rules.push(RuleHit {
            id: "net.exfiltration",
            technique: "T1048",
            severity: 7.5,
            reason: format!(
                "exfiltration: {} MB sent to one public address never contacted in training",
                s.top_external_bytes / 1_000_000
            ),
        });
        action.get_or_insert_with(|| "large transfer to a new public address".to_owned());
        about.external = true;
    }
    if enc.is_some() && !external_src && s.new_admin_dsts >= LATERAL_HOSTS {
        rules.push(RuleHit {
            id: "net.lateral_movement",
            technique: "T1021",
            severity: 6.5,
            reason: format!(
                "lateral movement: {} internal hosts reached on admin ports never used by this source",
                s.new_admin_dsts
            ),
        });
        action.get_or_insert_with(|| "admin-port connections to internal hosts".to_owned());
        about.internal_admin = true;
    }
    if !build_quiet && rules.is_empty() {
        return None;
    }
    let top = s.meta.top_text(&batch.strings, 3);
    let action = action.unwrap_or_else(|| {
        let dst = s
            .meta
            .top
            .first()
            .map_or("", |t| batch.strings.resolve(t.0));
        format!("flows to {dst}:{port}")
    });
    let case = WindowCase {
        source: SOURCE,
        key: format!("src:{}@{}", s.src, s.meta.start),
        first_event_id: batch.ids.get(s.meta.first_event),
        time: s.meta.first_time,
        account: &batch.account,
        region: &batch.region,
        principal: s.src.to_string(),
        action,
        rules,
        evidence: vec![
            format!(
                "{} flows, {} packets, {} from {} in window {}",
                s.flows,
                s.packets,
                super::explain::bytes(s.bytes as f64),
                s.src,
                window_text(s.meta.start, WINDOW_SECS)
            ),
            format!("top destinations: {top}"),
        ],
    };
    Some((case, about))
}
