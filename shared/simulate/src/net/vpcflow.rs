//! VPC Flow Log records in the default format (version 2):
//! `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets
//! bytes start end action log-status`, and the connections that produce them: each
//! direction of a connection is its own record on every logged interface it
//! crosses, one record per aggregation interval (60 s here) while it lasts.

use super::line::Sink;
use super::network::Network;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// TCP.
pub(crate) const TCP: u8 = 6;
/// UDP.
pub(crate) const UDP: u8 = 17;
/// ICMP.
pub(crate) const ICMP: u8 = 1;
/// The aggregation interval, seconds.
pub(crate) const INTERVAL: i64 = 60;

/// One direction of traffic: packets and bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Dir {
    pub packets: u64,
    pub bytes: u64,
}

impl Dir {
    /// `packets` packets averaging `size` bytes.
    pub(crate) fn of(packets: u64, size: u64) -> Dir {
        Dir {
            packets,
            bytes: packets * size,
        }
    }
}

/// A connection (or a rejected attempt) between two addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conn {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// Initiator to responder.
    pub fwd: Dir,
    /// Responder to initiator; zero packets for none (rejected, or a dropped SYN).
    pub rev: Dir,
    /// First packet, epoch seconds.
    pub start: i64,
    /// Seconds from first to last packet.
    pub dur: i64,
    /// Whether the security group or NACL let it in.
    pub accept: bool,
}

/// Appends a record line.
#[expect(clippy::too_many_arguments, reason = "one argument per record field")]
fn record(
    net: &Network,
    eni: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    proto: u8,
    d: Dir,
    start: i64,
    end: i64,
    accept: bool,
    sink: &mut Sink,
) {
    let e = &net.enis[eni];
    let mut s = String::with_capacity(120);
    let _ = write!(
        s,
        "2 {} {} {src} {dst} {sport} {dport} {proto} {} {} {start} {end} {} OK",
        net.account,
        e.id,
        d.packets.max(1),
        d.bytes.max(40),
        if accept { "ACCEPT" } else { "REJECT" }
    );
    sink.push(start * 1000, e.stream, s);
}

/// A `NODATA` or `SKIPDATA` record of an interface for the interval at `start`.
pub(crate) fn no_data(net: &Network, eni: usize, start: i64, status: &str, sink: &mut Sink) {
    let e = &net.enis[eni];
    let s = format!(
        "2 {} {} - - - - - - - {start} {} - {status}",
        net.account,
        e.id,
        start + INTERVAL
    );
    sink.push(start * 1000, e.stream, s);
}

/// Logs `c` on interface `eni` (both directions, one record per interval).
pub(crate) fn log(net: &Network, eni: usize, c: &Conn, sink: &mut Sink) {
    log_as(net, eni, c, c.src, c.sport, sink);
}

/// Logs `c` on `eni` with the initiator seen as `src:sport` (after NAT).
pub(crate) fn log_as(
    net: &Network,
    eni: usize,
    c: &Conn,
    src: Ipv4Addr,
    sport: u16,
    sink: &mut Sink,
) {
    let slices = (c.dur / INTERVAL + 1).max(1) as u64;
    for k in 0..slices {
        let s = c.start + k as i64 * INTERVAL;
        let e = if k + 1 == slices {
            c.start + c.dur
        } else {
            s + INTERVAL - 1
        };
        let part = |d: Dir| Dir {
            packets: d.packets / slices + u64::from(k < d.packets % slices),
            bytes: d.bytes / slices + u64::from(k < d.bytes % slices),
        };
        let f = part(c.fwd);
        if f.packets > 0 {
            record(
                net, eni, src, c.dst, sport, c.dport, c.proto, f, s, e, c.accept, sink,
            );
        }
        let r = part(c.rev);
        if c.accept && r.packets > 0 {
            record(
                net, eni, c.dst, src, c.dport, sport, c.proto, r, s, e, true, sink,
            );
        }
    }
}

/// Logs `c` from a private interface out to the internet through the NAT gateway:
/// on the source interface, and on the gateway both legs (inside and translated).
pub(crate) fn log_via_nat(net: &Network, src_eni: usize, c: &Conn, nat_port: u16, sink: &mut Sink) {
    log(net, src_eni, c, sink);
    log(net, net.nat, c, sink);
    let nat_ip = net.enis[net.nat].ip;
    log_as(net, net.nat, c, nat_ip, nat_port, sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_fourteen_fields_and_split_per_interval() {
        let net = Network::new("123456789012");
        let mut sink = Sink::new(0, "", 0);
        let c = Conn {
            src: net.enis[net.web[0]].ip,
            dst: net.enis[net.db].ip,
            sport: 43_512,
            dport: 5432,
            proto: TCP,
            fwd: Dir::of(300, 120),
            rev: Dir::of(280, 900),
            start: 1_709_510_400,
            dur: 150,
            accept: true,
        };
        log(&net, net.web[0], &c, &mut sink);
        assert_eq!(sink.lines.len(), 6, "3 intervals x 2 directions");
        let mut packets = 0;
        for l in &sink.lines {
            let f: Vec<&str> = l.message.split(' ').collect();
            assert_eq!(f.len(), 14, "{}", l.message);
            assert_eq!(f[0], "2");
            assert_eq!(f[12], "ACCEPT");
            assert_eq!(f[13], "OK");
            if f[6] == "5432" {
                packets += f[8].parse::<u64>().unwrap_or(0);
            }
        }
        assert_eq!(packets, 300);
        sink.lines.clear();
        no_data(&net, net.db, 1_709_510_400, "NODATA", &mut sink);
        assert!(
            sink.lines[0]
                .message
                .ends_with("- - - - - - - 1709510400 1709510460 - NODATA")
        );
    }
}
