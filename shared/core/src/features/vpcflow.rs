//! The VPC Flow Logs feature schema (`vpcflow-v1`): one row per source address per
//! 60-second window (see [`super::window`]), and per-destination windows for
//! attacks spread over many sources.
//!
//! A port scan touches many ports with few packets and is mostly rejected; a brute
//! force opens many short connections to one admin port; exfiltration moves many
//! bytes to one address outside the network; lateral movement reaches internal
//! hosts on admin ports that host never used. Which ports are common and which
//! (source, port) pairs and destinations are familiar is learned in training.

use super::window::{
    EventIds, WindowMeta, is_internal, lg, rarity, ratio, top_k, window_schema, window_start,
};
use super::{FeatureDef, fnv1a, schema_hash};
use crate::intern::{Interner, Sym};
use crate::sources::vpcflow::{Action, FlowRecord};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Source name of findings and models.
pub const SOURCE: &str = "vpcflow";
/// Schema id, recorded in models.
pub const SCHEMA_ID: &str = "vpcflow-v1";
/// Most (source, port) and destination hashes kept by the encoder.
pub const MAX_PAIRS: usize = 200_000;
/// Most sources whose busiest minute the encoder keeps (the busiest ones).
pub const MAX_SOURCES: usize = 20_000;
/// Ports from here up are ephemeral (client side): counted as one port, and a flow
/// from a lower port to one of them is a response, not a connection attempt.
pub const EPHEMERAL: u16 = 32768;

/// Ports of remote administration and file sharing (SSH, Telnet, RPC, SMB, RDP,
/// VNC, WinRM): what lateral movement and brute force aim at.
pub const ADMIN_PORTS: &[u16] = &[22, 23, 135, 139, 445, 3389, 5900, 5985, 5986];

window_schema! {
    Flows = "flows", "log10(1 + flow records from the source in the window)", "0–6";
    Packets = "packets", "log10(1 + packets it sent)", "0–9";
    Bytes = "bytes", "log10(1 + bytes it sent)", "0–12";
    DistinctDsts = "distinct_dsts", "log10(1 + distinct destination addresses)", "0–5";
    DistinctPorts = "distinct_ports", "log10(1 + distinct destination ports, responses to ephemeral ports left out)", "0–5";
    TopDstShare = "top_dst_share", "share of its flows that went to its most contacted destination", "0–1";
    RejectRatio = "reject_ratio", "share of its flows that were rejected", "0–1";
    PacketsPerFlow = "packets_per_flow", "log10(1 + mean packets per flow)", "0–6";
    BytesPerPacket = "bytes_per_packet", "log10(1 + mean bytes per packet)", "0–4";
    SrcInternal = "src_internal", "1 when the source address is private", "0/1";
    ExternalRatio = "external_ratio", "share of its flows to public addresses", "0–1";
    ExternalBytes = "external_bytes", "log10(1 + bytes it sent to public addresses)", "0–12";
    AdminPortRatio = "admin_port_ratio", "share of its flows to admin ports (22, 23, 135, 139, 445, 3389, 5900, 5985, 5986)", "0–1";
    PortRarity = "port_rarity", "mean over its flows of -log10 the share of training flows to the destination port", "0–7";
    NewPairRatio = "new_pair_ratio", "share of its flows on a (source, destination port) pair never seen in training (ephemeral ports 32768+ as one)", "0–1";
    NewDstBytes = "new_dst_bytes", "log10(1 + bytes it sent to public networks (/16, /48) never contacted in training)", "0–12";
}

/// The schema hash of `vpcflow-v1`.
pub fn hash() -> String {
    schema_hash(SCHEMA_ID, FEATURES)
}

/// The schema's columns (for `model info` and the README).
pub fn features() -> &'static [FeatureDef] {
    FEATURES
}

/// What training learned about the network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VpcFlowEncoder {
    /// Training flows.
    pub n: u64,
    /// Flows per destination port (ports from 32768 up folded into one).
    pub ports: BTreeMap<u16, u64>,
    /// FNV-1a hashes of (source address, destination port) pairs seen.
    pub pairs: BTreeSet<u64>,
    /// FNV-1a hashes of public destination networks (/16, /48) contacted.
    pub external_dsts: BTreeSet<u64>,
    /// Most bytes one source sent to one public address in one window.
    pub external_bytes_max: u64,
    /// Most distinct sources one destination had in one window.
    pub dst_sources_max: u64,
    /// Busiest minute of each source seen in training: (flows, bytes), for the
    /// [`MAX_SOURCES`] busiest sources.
    pub sources: BTreeMap<String, (u64, u64)>,
}

fn pair_key(src: IpAddr, port: u16) -> u64 {
    let (s, p) = (src.to_string(), port_class(port).to_string());
    fnv1a(&[&s, &p])
}

/// The network of a public destination: its /16 (IPv4) or /48 (IPv6), so that a
/// service's many addresses (S3, a CDN) count as one familiar destination.
fn net_key(ip: IpAddr) -> u64 {
    let net = match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}/16", o[0], o[1])
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}/48", s[0], s[1], s[2])
        }
    };
    fnv1a(&[&net])
}

/// Ephemeral ports are counted as one.
fn port_class(p: u16) -> u16 {
    if p >= EPHEMERAL { EPHEMERAL } else { p }
}

impl VpcFlowEncoder {
    /// Learns from one batch.
    pub fn observe(&mut self, batch: &FlowBatch) {
        self.n += batch.events.len() as u64;
        let mut pairs = FxHashSet::default();
        let mut dsts = FxHashSet::default();
        for e in &batch.events {
            *self.ports.entry(port_class(e.dst_port)).or_default() += 1;
            if pairs.insert((e.src, port_class(e.dst_port))) && self.pairs.len() < MAX_PAIRS {
                self.pairs.insert(pair_key(e.src, e.dst_port));
            }
            if !is_internal(e.dst)
                && dsts.insert(net_key(e.dst))
                && self.external_dsts.len() < MAX_PAIRS
            {
                self.external_dsts.insert(net_key(e.dst));
            }
        }
        let w = FlowWindows::build(batch, None);
        for d in &w.dsts {
            self.dst_sources_max = self.dst_sources_max.max(d.sources);
        }
        for s in &w.src {
            self.external_bytes_max = self.external_bytes_max.max(s.top_external_bytes);
            let slot = self.sources.entry(s.src.to_string()).or_default();
            slot.0 = slot.0.max(s.flows);
            slot.1 = slot.1.max(s.bytes);
        }
    }

    /// Keeps the [`MAX_SOURCES`] busiest sources.
    pub fn finish(&mut self) {
        if self.sources.len() > MAX_SOURCES {
            let mut v: Vec<(String, (u64, u64))> =
                std::mem::take(&mut self.sources).into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(MAX_SOURCES);
            self.sources = v.into_iter().collect();
        }
    }

    /// Whether a source sent this much in some training minute (within a factor 2).
    pub fn familiar(&self, src: IpAddr, flows: u64, bytes: u64) -> bool {
        self.sources
            .get(&src.to_string())
            .is_some_and(|&(f, b)| flows <= 2 * f && bytes <= 2 * b)
    }
}

/// One flow record, reduced to what the features need.
#[derive(Debug, Clone, Copy)]
pub struct FlowEvent {
    /// Start of the capture window (epoch seconds).
    pub time: i64,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// IANA protocol number.
    pub protocol: u8,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Rejected.
    pub reject: bool,
    /// Destination address as text (interned), for findings.
    pub dst_text: Sym,
}

impl FlowEvent {
    /// A response: from a lower (service) port to a higher, unprivileged (client)
    /// port. Responses are not connection attempts and count towards no port.
    pub fn is_response(&self) -> bool {
        self.dst_port >= 1024 && self.src_port < self.dst_port
    }
}

/// The flows of one batch.
#[derive(Debug, Default)]
pub struct FlowBatch {
    /// Flows in arrival order (NODATA and SKIPDATA records are counted, not kept).
    pub events: Vec<FlowEvent>,
    /// CloudWatch Logs event id of each flow.
    pub ids: EventIds,
    /// Interned addresses.
    pub strings: Interner,
    /// Lines that did not parse.
    pub skipped: u64,
    /// NODATA and SKIPDATA records.
    pub no_data: u64,
    /// AWS account (the payload's `owner`).
    pub account: String,
    /// Region, when the format carries it.
    pub region: String,
    dst_text: FxHashMap<IpAddr, Sym>,
}

impl FlowBatch {
    /// Adds one parsed flow with its CloudWatch Logs id.
    pub fn push(&mut self, id: &str, r: &FlowRecord<'_>) {
        let strings = &mut self.strings;
        let dst_text = *self
            .dst_text
            .entry(r.dst_addr)
            .or_insert_with(|| strings.intern(&r.dst_addr.to_string()));
        if self.region.is_empty() {
            if let Some(region) = r.region {
                self.region = region.to_owned();
            }
        }
        self.ids.push(id);
        self.events.push(FlowEvent {
            time: r.start,
            src: r.src_addr,
            dst: r.dst_addr,
            src_port: r.src_port,
            dst_port: r.dst_port,
            protocol: r.protocol,
            packets: r.packets,
            bytes: r.bytes,
            reject: r.action == Action::Reject,
            dst_text,
        });
    }
}

/// One source address in one window.
#[derive(Debug, Clone)]
pub struct SrcWindow {
    /// Window bounds, first event, top destinations.
    pub meta: WindowMeta,
    /// Source address.
    pub src: IpAddr,
    /// Flows.
    pub flows: u64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Distinct destinations.
    pub distinct_dsts: u64,
    /// Distinct destination ports.
    pub distinct_ports: u64,
    /// Rejected flows.
    pub rejects: u64,
    external: u64,
    /// Bytes to public addresses.
    pub external_bytes: u64,
    /// Most bytes to a single public address.
    pub top_external_bytes: u64,
    /// Flows to admin ports.
    pub admin: u64,
    /// Distinct internal destinations reached on admin ports on new pairs.
    pub new_admin_dsts: u64,
    rarity_sum: f64,
    /// Flows on (source, port) pairs unseen in training.
    pub new_pairs: u64,
    /// Bytes to public addresses unseen in training.
    pub new_dst_bytes: u64,
    /// The most contacted port and its flows.
    pub top_port: (u16, u64),
    /// The source sent this much in some training minute, on familiar pairs.
    pub familiar: bool,
}

/// One destination address in one window, over all sources.
#[derive(Debug, Clone)]
pub struct DstWindow {
    /// Window bounds, first event.
    pub meta: WindowMeta,
    /// Destination.
    pub dst: Sym,
    /// Flows.
    pub flows: u64,
    /// Distinct sources.
    pub sources: u64,
    /// Packets.
    pub packets: u64,
    /// Flows of at most 3 packets (SYN-only and other half-open attempts).
    pub tiny: u64,
    /// Rejected flows.
    pub rejects: u64,
}

/// The windows of a batch and which windows each flow belongs to.
#[derive(Debug)]
pub struct FlowWindows {
    /// Per-source windows.
    pub src: Vec<SrcWindow>,
    /// Window of each flow in `src`.
    pub src_of: Vec<u32>,
    /// Per-destination windows.
    pub dsts: Vec<DstWindow>,
    /// Window of each flow in `dsts`.
    pub dst_of: Vec<u32>,
}

impl FlowWindows {
    /// Aggregates a batch; with an encoder, also port rarity and novelty.
    pub fn build(batch: &FlowBatch, enc: Option<&VpcFlowEncoder>) -> Self {
        let mut src_ix: FxHashMap<(IpAddr, i64), u32> = FxHashMap::default();
        let mut dst_ix: FxHashMap<(IpAddr, i64), u32> = FxHashMap::default();
        let mut src: Vec<SrcWindow> = Vec::new();
        let mut dsts: Vec<DstWindow> = Vec::new();
        let mut src_of = Vec::with_capacity(batch.events.len());
        let mut dst_of = Vec::with_capacity(batch.events.len());
        let mut src_dst: FxHashMap<(u32, IpAddr), (u64, u64, Sym)> = FxHashMap::default();
        let mut src_port: FxHashMap<(u32, u16), u64> = FxHashMap::default();
        let mut dst_src: FxHashSet<(u32, IpAddr)> = FxHashSet::default();
        let mut new_admin: FxHashSet<(u32, IpAddr)> = FxHashSet::default();
        let mut known_pair: FxHashMap<(IpAddr, u16), bool> = FxHashMap::default();
        let mut known_dst: FxHashMap<IpAddr, bool> = FxHashMap::default();
        let mut port_rarity: FxHashMap<u16, f32> = FxHashMap::default();
        for (i, e) in batch.events.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            let ws = window_start(e.time);
            let si = *src_ix.entry((e.src, ws)).or_insert_with(|| {
                src.push(SrcWindow::new(e, idx));
                u32::try_from(src.len() - 1).unwrap_or(u32::MAX)
            });
            let di = *dst_ix.entry((e.dst, ws)).or_insert_with(|| {
                dsts.push(DstWindow {
                    meta: WindowMeta::new(e.time, idx),
                    dst: e.dst_text,
                    flows: 0,
                    sources: 0,
                    packets: 0,
                    tiny: 0,
                    rejects: 0,
                });
                u32::try_from(dsts.len() - 1).unwrap_or(u32::MAX)
            });
            src_of.push(si);
            dst_of.push(di);
            let external = !is_internal(e.dst);
            let s = &mut src[si as usize];
            s.meta.see(e.time, idx);
            s.flows += 1;
            s.packets += e.packets;
            s.bytes += e.bytes;
            s.rejects += u64::from(e.reject);
            let admin = ADMIN_PORTS.contains(&e.dst_port);
            s.admin += u64::from(admin);
            if external {
                s.external += 1;
                s.external_bytes += e.bytes;
            }
            let slot = src_dst.entry((si, e.dst)).or_insert((0, 0, e.dst_text));
            if slot.0 == 0 {
                s.distinct_dsts += 1;
            }
            slot.0 += 1;
            if external {
                slot.1 += e.bytes;
                s.top_external_bytes = s.top_external_bytes.max(slot.1);
            }
            // Responses (service port to a client's ephemeral port) are not
            // connection attempts: they count towards no port.
            let response = e.is_response();
            if !response {
                let pc = src_port.entry((si, e.dst_port)).or_default();
                if *pc == 0 {
                    s.distinct_ports += 1;
                }
                *pc += 1;
                if *pc > s.top_port.1 {
                    s.top_port = (e.dst_port, *pc);
                }
            }
            if let Some(enc) = enc {
                let r = *port_rarity
                    .entry(if response { EPHEMERAL } else { e.dst_port })
                    .or_insert_with(|| {
                        rarity(
                            enc.ports.get(&port_class(e.dst_port)).copied().unwrap_or(0),
                            enc.n,
                        )
                    });
                s.rarity_sum += f64::from(r);
                let known = response
                    || *known_pair
                        .entry((e.src, port_class(e.dst_port)))
                        .or_insert_with(|| enc.pairs.contains(&pair_key(e.src, e.dst_port)));
                if !known {
                    s.new_pairs += 1;
                    if admin && !external && new_admin.insert((si, e.dst)) {
                        s.new_admin_dsts += 1;
                    }
                }
                if external {
                    let seen = *known_dst
                        .entry(e.dst)
                        .or_insert_with(|| enc.external_dsts.contains(&net_key(e.dst)));
                    if !seen {
                        s.new_dst_bytes += e.bytes;
                    }
                }
            }
            let d = &mut dsts[di as usize];
            d.meta.see(e.time, idx);
            d.flows += 1;
            d.packets += e.packets;
            d.tiny += u64::from(e.packets <= 3);
            d.rejects += u64::from(e.reject);
            if dst_src.insert((di, e.src)) {
                d.sources += 1;
            }
        }
        let mut per_src: Vec<Vec<(Sym, u64)>> = vec![Vec::new(); src.len()];
        for (&(si, _), &(c, _, text)) in &src_dst {
            per_src[si as usize].push((text, c));
        }
        for (w, v) in src.iter_mut().zip(per_src) {
            w.meta.top = top_k(v.into_iter(), 3);
            w.familiar = enc.is_some_and(|e| {
                w.new_pairs == 0 && w.new_dst_bytes == 0 && e.familiar(w.src, w.flows, w.bytes)
            });
        }
        Self {
            src,
            src_of,
            dsts,
            dst_of,
        }
    }

    /// The feature row of a source window.
    pub fn row(&self, w: &SrcWindow) -> Row {
        let mut r = [0f32; N_FEATURES];
        let n = w.flows;
        let top = w.meta.top.first().map_or(0, |t| t.1);
        let mut set = |c: Col, v: f32| r[c as usize] = v;
        set(Col::Flows, lg(n as f64));
        set(Col::Packets, lg(w.packets as f64));
        set(Col::Bytes, lg(w.bytes as f64));
        set(Col::DistinctDsts, lg(w.distinct_dsts as f64));
        set(Col::DistinctPorts, lg(w.distinct_ports as f64));
        set(Col::TopDstShare, ratio(top, n));
        set(Col::RejectRatio, ratio(w.rejects, n));
        set(Col::PacketsPerFlow, lg(w.packets as f64 / n.max(1) as f64));
        set(
            Col::BytesPerPacket,
            lg(w.bytes as f64 / w.packets.max(1) as f64),
        );
        set(Col::SrcInternal, f32::from(u8::from(is_internal(w.src))));
        set(Col::ExternalRatio, ratio(w.external, n));
        set(Col::ExternalBytes, lg(w.external_bytes as f64));
        set(Col::AdminPortRatio, ratio(w.admin, n));
        set(
            Col::PortRarity,
            if n > 0 {
                (w.rarity_sum / n as f64) as f32
            } else {
                0.0
            },
        );
        set(Col::NewPairRatio, ratio(w.new_pairs, n));
        set(Col::NewDstBytes, lg(w.new_dst_bytes as f64));
        r
    }
}

impl SrcWindow {
    fn new(e: &FlowEvent, idx: u32) -> Self {
        Self {
            meta: WindowMeta::new(e.time, idx),
            src: e.src,
            flows: 0,
            packets: 0,
            bytes: 0,
            distinct_dsts: 0,
            distinct_ports: 0,
            rejects: 0,
            external: 0,
            external_bytes: 0,
            top_external_bytes: 0,
            admin: 0,
            new_admin_dsts: 0,
            rarity_sum: 0.0,
            new_pairs: 0,
            new_dst_bytes: 0,
            top_port: (0, 0),
            familiar: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::vpcflow::{FlowFormat, FlowLine};

    fn batch(lines: &[String]) -> FlowBatch {
        let f = FlowFormat::default_v2();
        let mut b = FlowBatch::default();
        for (i, l) in lines.iter().enumerate() {
            if let FlowLine::Record(r) = f.parse_line(l).unwrap() {
                b.push(&i.to_string(), &r);
            }
        }
        b
    }

    fn flow(src: &str, dst: &str, port: u16, packets: u64, bytes: u64, action: &str) -> String {
        format!(
            "2 123456789012 eni-0a1b2c3d {src} {dst} 51000 {port} 6 {packets} {bytes} 1709547300 1709547310 {action} OK"
        )
    }

    #[test]
    fn a_port_scan_is_many_ports_from_one_source() {
        let mut lines: Vec<String> = (1..=200)
            .map(|p| flow("198.51.100.23", "10.0.1.10", p, 1, 44, "REJECT"))
            .collect();
        lines.push(flow("10.0.1.10", "10.0.2.20", 5432, 10, 4000, "ACCEPT"));
        let w = FlowWindows::build(&batch(&lines), None);
        assert_eq!(w.src.len(), 2);
        let s = &w.src[0];
        assert_eq!(s.distinct_ports, 200);
        assert_eq!(s.rejects, 200);
        let row = w.row(s);
        assert!((row[Col::RejectRatio as usize] - 1.0).abs() < 1e-6);
        assert!(row[Col::DistinctPorts as usize] > 2.0);
        assert_eq!(w.dsts[w.dst_of[0] as usize].flows, 200);
    }

    #[test]
    fn novelty_needs_the_encoder() {
        let train = batch(&[flow("10.0.1.10", "52.216.1.1", 443, 10, 5_000, "ACCEPT")]);
        let mut enc = VpcFlowEncoder::default();
        enc.observe(&train);
        let test = batch(&[
            flow("10.0.1.10", "52.216.1.1", 443, 10, 5_000, "ACCEPT"),
            flow("10.0.1.10", "203.0.113.50", 443, 1000, 9_000_000, "ACCEPT"),
        ]);
        let w = FlowWindows::build(&test, Some(&enc));
        let s = &w.src[0];
        assert_eq!(s.new_pairs, 0);
        assert_eq!(s.new_dst_bytes, 9_000_000);
        assert_eq!(s.top_external_bytes, 9_000_000);
    }
}
