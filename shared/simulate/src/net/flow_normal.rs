//! Ordinary VPC traffic for one hour, interval by interval: shoppers' connections to
//! the load balancer, the balancer's connections to the tasks, tasks talking to
//! PostgreSQL, Redis and the internal DNS server, egress through the NAT gateway to
//! payment and e-mail services on 443, staff SSH to the bastion in office hours,
//! ICMP checks, a modest trickle of rejected probes from the internet, and `NODATA`
//! / `SKIPDATA` records now and then.

use super::line::Sink;
use super::network::{Network, ephemeral};
use super::vpcflow::{Conn, Dir, ICMP, INTERVAL, TCP, UDP, log, log_via_nat, no_data};
use crate::ids::{SimRng, pick_weighted};
use crate::timefmt::civil;
use rand::Rng;
use std::net::Ipv4Addr;

/// Ports the internet knocks on.
const PROBED: [u16; 14] = [
    23, 445, 3389, 22, 80, 8080, 1433, 3306, 5900, 6379, 2323, 8443, 5060, 9200,
];

fn conn(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, proto: u8, start: i64) -> Conn {
    Conn {
        src,
        dst,
        sport,
        dport,
        proto,
        fwd: Dir::default(),
        rev: Dir::default(),
        start,
        dur: 0,
        accept: true,
    }
}

/// One connection of a kind drawn by weight; returns after logging it.
fn one(net: &Network, rng: &mut SimRng, w0: i64, office_hours: bool, sink: &mut Sink) {
    const KINDS: [f64; 10] = [34.0, 14.0, 15.0, 10.0, 5.0, 8.0, 3.0, 2.0, 2.0, 3.0];
    let mut k = pick_weighted(rng, &KINDS);
    if k == 7 && !office_hours {
        k = 0;
    }
    let off = rng.random_range(0..INTERVAL - 2);
    let start = w0 + off;
    let max_dur = INTERVAL - 1 - off;
    let web = net.web[rng.random_range(0..net.web.len())];
    let web_ip = net.enis[web].ip;
    match k {
        0 => {
            // A shopper's browser to the load balancer.
            let alb = net.alb[rng.random_range(0..2)];
            let client = net.clients[rng.random_range(0..net.clients.len())];
            let mut c = conn(client, net.enis[alb].ip, ephemeral(rng), 443, TCP, start);
            let n = rng.random_range(8..40);
            c.fwd = Dir::of(n, rng.random_range(60..400));
            c.rev = Dir::of(n + rng.random_range(2..80), rng.random_range(400..1400));
            c.dur = rng.random_range(0..=max_dur);
            log(net, alb, &c, sink);
        }
        1 => {
            // The load balancer's keep-alive connection to a task.
            let alb = net.alb[rng.random_range(0..2)];
            let mut c = conn(net.enis[alb].ip, web_ip, ephemeral(rng), 8080, TCP, start);
            let n = rng.random_range(20..400);
            c.fwd = Dir::of(n, rng.random_range(120..700));
            c.rev = Dir::of(n + rng.random_range(0..200), rng.random_range(500..1400));
            c.dur = max_dur;
            log(net, alb, &c, sink);
            log(net, web, &c, sink);
        }
        2 | 3 => {
            let (dst, port) = if k == 2 {
                (net.db, 5432)
            } else {
                (net.redis, 6379)
            };
            let mut c = conn(web_ip, net.enis[dst].ip, ephemeral(rng), port, TCP, start);
            let n = rng.random_range(10..300);
            c.fwd = Dir::of(n, rng.random_range(70..260));
            c.rev = Dir::of(n + rng.random_range(0..100), rng.random_range(120..1300));
            c.dur = rng.random_range(0..=max_dur);
            log(net, web, &c, sink);
            log(net, dst, &c, sink);
        }
        4 => {
            // Service discovery lookups against the internal DNS server.
            let mut c = conn(web_ip, net.enis[net.dns].ip, ephemeral(rng), 53, UDP, start);
            let n = rng.random_range(1..6);
            c.fwd = Dir::of(n, rng.random_range(60..90));
            c.rev = Dir::of(n, rng.random_range(90..300));
            log(net, web, &c, sink);
            log(net, net.dns, &c, sink);
        }
        5 => {
            let dst = net.saas[rng.random_range(0..net.saas.len())];
            let mut c = conn(web_ip, dst, ephemeral(rng), 443, TCP, start);
            let n = rng.random_range(8..30);
            c.fwd = Dir::of(n, rng.random_range(90..500));
            c.rev = Dir::of(n + rng.random_range(0..10), rng.random_range(200..1400));
            c.dur = rng.random_range(0..=max_dur.min(5));
            log_via_nat(net, web, &c, rng.random_range(1024..65_535), sink);
        }
        6 => {
            // Small S3 reads and writes from the ops hosts.
            let host = if rng.random_bool(0.5) {
                net.backup
            } else {
                net.monitor
            };
            let dst = net.s3[rng.random_range(0..net.s3.len())];
            let mut c = conn(net.enis[host].ip, dst, ephemeral(rng), 443, TCP, start);
            let n = rng.random_range(10..60);
            c.fwd = Dir::of(n, rng.random_range(100..1400));
            c.rev = Dir::of(n, rng.random_range(100..1400));
            c.dur = rng.random_range(0..=max_dur.min(10));
            log(net, host, &c, sink);
        }
        7 => {
            // Staff SSH session to the bastion.
            let src = net.office[rng.random_range(0..net.office.len())];
            let mut c = conn(
                src,
                net.enis[net.bastion].ip,
                ephemeral(rng),
                22,
                TCP,
                start,
            );
            let n = rng.random_range(20..600);
            c.fwd = Dir::of(n, rng.random_range(52..120));
            c.rev = Dir::of(n + rng.random_range(0..400), rng.random_range(60..600));
            c.dur = max_dur;
            log(net, net.bastion, &c, sink);
        }
        8 => {
            // Ping from the monitoring host.
            let hosts = net.internal_hosts();
            let dst = hosts[rng.random_range(0..hosts.len())];
            let mut c = conn(
                net.enis[net.monitor].ip,
                net.enis[dst].ip,
                0,
                0,
                ICMP,
                start,
            );
            c.fwd = Dir::of(1, 84);
            c.rev = Dir::of(1, 84);
            log(net, net.monitor, &c, sink);
            log(net, dst, &c, sink);
        }
        _ => {
            // Background noise: a stray probe from the internet, rejected.
            let dst = match rng.random_range(0..4) {
                0 | 1 => net.alb[rng.random_range(0..2)],
                2 => net.bastion,
                _ => net.nat,
            };
            let port = PROBED[rng.random_range(0..PROBED.len())];
            let src = super::ip::public_v4(rng);
            let mut c = conn(
                src,
                net.enis[dst].ip,
                rng.random_range(1024..65_535),
                port,
                TCP,
                start,
            );
            c.fwd = Dir::of(1, if rng.random_bool(0.7) { 40 } else { 44 });
            c.accept = false;
            log(net, dst, &c, sink);
        }
    }
}

/// The intervals of the hour starting at `start_ms`, about `budget` records in all.
pub(crate) fn hour(net: &Network, rng: &mut SimRng, start_ms: i64, budget: usize, sink: &mut Sink) {
    let start = start_ms / 1000;
    let hour = civil(start).hour;
    // Office hours in US Eastern time, weekdays or not.
    let office_hours = (13..23).contains(&hour);
    let before = sink.lines.len();
    for m in 0..60usize {
        let w0 = start + m as i64 * INTERVAL;
        let target = budget * (m + 1) / 60;
        while sink.lines.len() - before < target {
            one(net, rng, w0, office_hours, sink);
        }
        for idle in [net.lambda, net.db_standby] {
            if rng.random_bool(0.1) {
                no_data(net, idle, w0 + rng.random_range(0..5), "NODATA", sink);
            }
        }
        if rng.random_bool(0.003) {
            let eni = net.alb[rng.random_range(0..2)];
            no_data(net, eni, w0, "SKIPDATA", sink);
        }
    }
}
