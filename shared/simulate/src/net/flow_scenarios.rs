//! Scenario scripts for flow logs: attacks (port scan, SSH brute force,
//! exfiltration, SYN flood, lateral movement) and hard negatives (the nightly
//! backup to S3, the monitoring host's port checks).

use super::NetScenario;
use super::ip::{in_prefix, public_v4};
use super::line::Sink;
use super::network::{Network, ephemeral};
use super::vpcflow::{Conn, Dir, TCP, log, log_via_nat};
use crate::ids::SimRng;
use crate::timefmt::DAY;
use rand::Rng;
use std::net::Ipv4Addr;

/// Ports nmap tries first, then the rest of its top thousand are drawn at random.
const TOP_PORTS: [u16; 24] = [
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306, 3389, 5432,
    5900, 6379, 8080, 8443, 9200,
];

fn syn(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, start: i64) -> Conn {
    Conn {
        src,
        dst,
        sport,
        dport,
        proto: TCP,
        fwd: Dir::of(1, 44),
        rev: Dir::default(),
        start,
        dur: 0,
        accept: false,
    }
}

/// A start time (epoch seconds) leaving `len` seconds before the end of the span.
fn start_in(rng: &mut SimRng, span_ms: (i64, i64), len: i64) -> i64 {
    let (a, b) = (span_ms.0 / 1000, span_ms.1 / 1000);
    let latest = (b - len - 600).max(a + 1);
    rng.random_range(a..latest)
}

/// Renders one instance of `s` into `sink`.
pub(crate) fn render(
    net: &Network,
    s: NetScenario,
    rng: &mut SimRng,
    span_ms: (i64, i64),
    sink: &mut Sink,
) {
    match s {
        NetScenario::PortScan => port_scan(net, start_in(rng, span_ms, 600), sink, rng),
        NetScenario::SshBruteForce => {
            ssh_brute_force(net, start_in(rng, span_ms, 2_400), sink, rng)
        }
        NetScenario::Exfiltration => exfiltration(net, start_in(rng, span_ms, 3_000), sink, rng),
        NetScenario::SynFlood => syn_flood(net, start_in(rng, span_ms, 600), sink, rng),
        NetScenario::LateralMovement => {
            lateral_movement(net, start_in(rng, span_ms, 900), sink, rng);
        }
        NetScenario::BenignBackupJob => backup_job(net, rng, span_ms, sink),
        NetScenario::BenignMonitoringPoller => monitoring_poller(net, rng, span_ms, sink),
        _ => {}
    }
}

/// One address SYN-scans a thousand ports of the bastion in four minutes; only SSH
/// answers (the scanner resets after the SYN-ACK).
fn port_scan(net: &Network, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let attacker = public_v4(rng);
    let target = net.enis[net.bastion].ip;
    let sport = ephemeral(rng);
    let mut ports: Vec<u16> = TOP_PORTS.to_vec();
    while ports.len() < 1_000 {
        let p = if rng.random_bool(0.7) {
            rng.random_range(1..10_000)
        } else {
            rng.random_range(10_000..65_535)
        };
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    for (i, &p) in ports.iter().enumerate() {
        let mut c = syn(attacker, target, sport, p, t + (i as i64 * 240) / 1_000);
        if rng.random_bool(0.05) {
            c.fwd = Dir::of(2, 44); // retransmitted probe
        }
        if p == 22 {
            c.accept = true;
            c.fwd = Dir::of(2, 42);
            c.rev = Dir::of(1, 44);
        }
        log(net, net.bastion, &c, sink);
    }
}

/// Hundreds of short SSH sessions (a few password tries each) from one address.
fn ssh_brute_force(net: &Network, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let attacker = public_v4(rng);
    let target = net.enis[net.bastion].ip;
    let mut sport = ephemeral(rng);
    let mut at = t;
    for _ in 0..420 {
        let mut c = syn(attacker, target, sport, 22, at);
        c.accept = true;
        c.fwd = Dir::of(rng.random_range(11..22), rng.random_range(90..160));
        c.rev = Dir::of(rng.random_range(10..20), rng.random_range(100..260));
        c.dur = rng.random_range(2..7);
        log(net, net.bastion, &c, sink);
        at += rng.random_range(2..6);
        sport = sport.wrapping_add(rng.random_range(1..4)).max(32_768);
    }
}

/// A compromised web task streams gigabytes to one address it never talked to,
/// through the NAT gateway, for forty minutes.
fn exfiltration(net: &Network, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let web = net.web[rng.random_range(0..net.web.len())];
    let drop_ip = in_prefix(rng, [185, 220, 0, 0], 16);
    let dur = 2_400;
    let sent: u64 = rng.random_range(5_000_000_000..8_000_000_000);
    let mut c = syn(net.enis[web].ip, drop_ip, ephemeral(rng), 443, t);
    c.accept = true;
    c.fwd = Dir::of(sent / 1_448, 1_448);
    c.rev = Dir::of(sent / 2_896, 52);
    c.dur = dur;
    log_via_nat(net, web, &c, rng.random_range(1024..65_535), sink);
}

/// Thousands of spoofed sources send SYNs to the load balancer's HTTPS port for
/// five minutes; it answers each with a SYN-ACK that goes nowhere.
fn syn_flood(net: &Network, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    for _ in 0..4_000 {
        let alb = net.alb[rng.random_range(0..2)];
        let mut c = syn(
            public_v4(rng),
            net.enis[alb].ip,
            rng.random_range(1024..65_535),
            443,
            t + rng.random_range(0..300),
        );
        let n = rng.random_range(1..4);
        c.fwd = Dir::of(n, if rng.random_bool(0.5) { 40 } else { 60 });
        c.rev = Dir::of(n * 2, 44);
        c.accept = true;
        c.dur = rng.random_range(0..3);
        log(net, alb, &c, sink);
    }
}

/// A compromised task probes internal hosts on admin and database ports; most are
/// refused by the targets' security groups.
fn lateral_movement(net: &Network, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    const PORTS: [u16; 8] = [22, 445, 3389, 5985, 5432, 6379, 27017, 9200];
    let web = net.web[rng.random_range(0..net.web.len())];
    let src = net.enis[web].ip;
    let mut targets: Vec<(Ipv4Addr, Option<usize>)> = net
        .internal_hosts()
        .into_iter()
        .filter(|&e| e != web)
        .map(|e| (net.enis[e].ip, Some(e)))
        .collect();
    for _ in 0..30 {
        let third = [10u8, 11, 20, 21, 30][rng.random_range(0..5)];
        targets.push((in_prefix(rng, [10, 0, third, 0], 24), None));
    }
    let mut at = t;
    for (dst, eni) in targets {
        for p in PORTS {
            let open = (eni == Some(net.db) && p == 5432) || (eni == Some(net.redis) && p == 6379);
            let mut c = syn(src, dst, ephemeral(rng), p, at);
            c.accept = true;
            if open {
                c.fwd = Dir::of(6, 80);
                c.rev = Dir::of(5, 120);
            } else {
                c.fwd = Dir::of(2, 60);
            }
            log(net, web, &c, sink);
            if let Some(e) = eni {
                c.accept = open;
                log(net, e, &c, sink);
            }
            at += rng.random_range(0..3);
        }
    }
}

/// Every night at about 02:10 the backup host uploads the database dump to S3
/// over six parallel connections: tens of gigabytes, through the gateway endpoint.
fn backup_job(net: &Network, rng: &mut SimRng, span_ms: (i64, i64), sink: &mut Sink) {
    let src = net.enis[net.backup].ip;
    let mut day = span_ms.0 / 1000 / DAY * DAY;
    while day * 1000 < span_ms.1 {
        let t = day + 2 * 3600 + 600 + rng.random_range(0..300);
        for _ in 0..6 {
            let dst = net.s3[rng.random_range(0..net.s3.len())];
            let sent: u64 = rng.random_range(3_000_000_000..4_500_000_000);
            let mut c = syn(src, dst, ephemeral(rng), 443, t + rng.random_range(0..5));
            c.accept = true;
            c.fwd = Dir::of(sent / 8_949, 8_949);
            c.rev = Dir::of(sent / 17_898, 52);
            c.dur = rng.random_range(1_380..1_620);
            log(net, net.backup, &c, sink);
        }
        day += DAY;
    }
}

/// Every five minutes the monitoring host connects to each internal host's node
/// exporter and to the service port of the database, the cache and the bastion.
fn monitoring_poller(net: &Network, rng: &mut SimRng, span_ms: (i64, i64), sink: &mut Sink) {
    let src = net.enis[net.monitor].ip;
    let mut checks: Vec<(usize, u16)> = net
        .internal_hosts()
        .into_iter()
        .map(|e| (e, 9100))
        .collect();
    checks.extend([(net.db, 5432), (net.redis, 6379), (net.bastion, 22)]);
    let mut t = span_ms.0 / 1000 + rng.random_range(0..300);
    while t * 1000 < span_ms.1 {
        let mut at = t;
        for &(eni, port) in &checks {
            let mut c = syn(src, net.enis[eni].ip, ephemeral(rng), port, at);
            c.accept = true;
            c.fwd = Dir::of(rng.random_range(5..9), rng.random_range(60..120));
            c.rev = Dir::of(rng.random_range(4..8), rng.random_range(200..1_300));
            c.dur = rng.random_range(0..2);
            log(net, net.monitor, &c, sink);
            log(net, eni, &c, sink);
            at += rng.random_range(0..2);
        }
        t += 300;
    }
}
