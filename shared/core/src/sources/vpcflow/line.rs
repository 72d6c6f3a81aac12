//! Parsing one flow log line: a one-pass tokenizer, a hand-written IPv4 parser and
//! digit-only integers, filling a [`FlowRecord`] in place.

use std::net::IpAddr;

use super::{
    Action, FlowDirection, FlowError, FlowField, FlowFormat, FlowLine, FlowRecord, REQUIRED,
};

impl FlowFormat {
    /// Parses one line: fields separated by spaces, a trailing `\r\n` ignored. A line whose `log-status` is
    /// `NODATA` or `SKIPDATA` — or, in a format without `log-status`, whose addresses
    /// are both `-` — is [`FlowLine::NoData`] / [`FlowLine::SkipData`].
    pub fn parse_line<'a>(&self, line: &'a str) -> Result<FlowLine<'a>, FlowError> {
        let mut rec = FlowRecord::empty();
        let mut seen = 0u64;
        let mut status = Status::Ok;
        let mut toks = Tokens::new(line);
        for (n, &field) in self.fields.iter().enumerate() {
            let Some(tok) = toks.next() else {
                return Err(FlowError::FieldCount {
                    expected: self.fields.len(),
                    found: n,
                });
            };
            if tok == "-" {
                continue;
            }
            seen |= bit(field);
            set(&mut rec, &mut status, field, tok)?;
        }
        if toks.next().is_some() {
            return Err(FlowError::FieldCount {
                expected: self.fields.len(),
                found: self.fields.len() + 1,
            });
        }
        match status {
            Status::NoData => return Ok(FlowLine::NoData),
            Status::SkipData => return Ok(FlowLine::SkipData),
            Status::Ok => {}
        }
        let need = required_mask() & !(bit(FlowField::SrcPort) | bit(FlowField::DstPort));
        if seen & need != need {
            // A format without log-status still reports empty windows with `-`.
            let core = bit(FlowField::SrcAddr) | bit(FlowField::DstAddr) | bit(FlowField::Action);
            if seen & core == 0 {
                return Ok(FlowLine::NoData);
            }
            let missing = REQUIRED
                .iter()
                .find(|f| seen & bit(**f) == 0 && need & bit(**f) != 0)
                .map_or("srcaddr", |f| f.name());
            return Err(FlowError::BadValue { field: missing });
        }
        Ok(FlowLine::Record(rec))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Status {
    #[default]
    Ok,
    NoData,
    SkipData,
}

const fn bit(f: FlowField) -> u64 {
    1 << (f as u64)
}

const fn required_mask() -> u64 {
    let mut m = 0;
    let mut i = 0;
    while i < REQUIRED.len() {
        m |= bit(REQUIRED[i]);
        i += 1;
    }
    m
}

/// Digits only, at most 19 of them (so no overflow).
fn uint(tok: &str) -> Option<u64> {
    let b = tok.as_bytes();
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// An IP address: dotted-quad IPv4 by hand in one pass (the common case), anything
/// else through `std`.
pub(crate) fn parse_ip(tok: &str) -> Option<IpAddr> {
    let b = tok.as_bytes();
    if b.len() > 15 || b.contains(&b':') {
        return tok.parse().ok();
    }
    let mut octets = [0u8; 4];
    let (mut k, mut v, mut digits) = (0usize, 0u32, 0u32);
    for &c in b {
        if c == b'.' {
            if digits == 0 || k == 3 {
                return None;
            }
            octets[k] = u8::try_from(v).ok()?;
            (k, v, digits) = (k + 1, 0, 0);
        } else {
            let d = c.wrapping_sub(b'0');
            if d > 9 || digits == 3 {
                return None;
            }
            v = v * 10 + u32::from(d);
            digits += 1;
        }
    }
    if k != 3 || digits == 0 {
        return None;
    }
    octets[3] = u8::try_from(v).ok()?;
    Some(IpAddr::from(octets))
}

/// Whitespace-separated tokens of a line, found in one pass over the bytes (runs
/// of spaces count as one; a trailing `\r\n` is ignored).
struct Tokens<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(line: &'a str) -> Self {
        Self { line, pos: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let b = self.line.as_bytes();
        let mut i = self.pos;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        self.pos = i;
        // Both ends sit next to ASCII bytes (or the ends of the line): char boundaries.
        self.line.get(start..i)
    }
}

fn bad(field: FlowField) -> FlowError {
    FlowError::BadValue {
        field: field.name(),
    }
}

fn num<T: TryFrom<u64>>(tok: &str, field: FlowField) -> Result<T, FlowError> {
    uint(tok)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| bad(field))
}

/// Stores one field that is not `-`.
fn set<'a>(
    rec: &mut FlowRecord<'a>,
    status: &mut Status,
    field: FlowField,
    tok: &'a str,
) -> Result<(), FlowError> {
    use FlowField as F;
    match field {
        F::Version => rec.version = Some(num(tok, field)?),
        F::AccountId => rec.account_id = Some(tok),
        F::InterfaceId => rec.interface_id = Some(tok),
        F::SrcAddr => rec.src_addr = parse_ip(tok).ok_or_else(|| bad(field))?,
        F::DstAddr => rec.dst_addr = parse_ip(tok).ok_or_else(|| bad(field))?,
        F::SrcPort => rec.src_port = num(tok, field)?,
        F::DstPort => rec.dst_port = num(tok, field)?,
        F::Protocol => rec.protocol = num(tok, field)?,
        F::Packets => rec.packets = num(tok, field)?,
        F::Bytes => rec.bytes = num(tok, field)?,
        F::Start => rec.start = num(tok, field)?,
        F::End => rec.end = num(tok, field)?,
        F::Action => {
            rec.action = match tok {
                "ACCEPT" => Action::Accept,
                "REJECT" => Action::Reject,
                _ => return Err(bad(field)),
            }
        }
        F::LogStatus => {
            *status = match tok {
                "OK" => Status::Ok,
                "NODATA" => Status::NoData,
                "SKIPDATA" => Status::SkipData,
                _ => return Err(bad(field)),
            }
        }
        F::VpcId => rec.vpc_id = Some(tok),
        F::SubnetId => rec.subnet_id = Some(tok),
        F::InstanceId => rec.instance_id = Some(tok),
        F::TcpFlags => rec.tcp_flags = Some(num(tok, field)?),
        F::Type => rec.flow_type = Some(tok),
        F::PktSrcAddr => rec.pkt_src_addr = Some(parse_ip(tok).ok_or_else(|| bad(field))?),
        F::PktDstAddr => rec.pkt_dst_addr = Some(parse_ip(tok).ok_or_else(|| bad(field))?),
        F::Region => rec.region = Some(tok),
        F::AzId => rec.az_id = Some(tok),
        F::SublocationType => rec.sublocation_type = Some(tok),
        F::SublocationId => rec.sublocation_id = Some(tok),
        F::PktSrcAwsService => rec.pkt_src_aws_service = Some(tok),
        F::PktDstAwsService => rec.pkt_dst_aws_service = Some(tok),
        F::FlowDirection => {
            rec.flow_direction = Some(match tok {
                "ingress" => FlowDirection::Ingress,
                "egress" => FlowDirection::Egress,
                _ => return Err(bad(field)),
            })
        }
        F::TrafficPath => rec.traffic_path = Some(num(tok, field)?),
        F::Ignored => {}
    }
    Ok(())
}

impl FlowRecord<'_> {
    /// A record with every field unset, filled in by [`set`].
    fn empty() -> Self {
        let zero = IpAddr::from([0u8; 4]);
        Self {
            version: None,
            account_id: None,
            interface_id: None,
            src_addr: zero,
            dst_addr: zero,
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            packets: 0,
            bytes: 0,
            start: 0,
            end: 0,
            action: Action::Accept,
            vpc_id: None,
            subnet_id: None,
            instance_id: None,
            tcp_flags: None,
            flow_type: None,
            pkt_src_addr: None,
            pkt_dst_addr: None,
            region: None,
            az_id: None,
            sublocation_type: None,
            sublocation_id: None,
            pkt_src_aws_service: None,
            pkt_dst_aws_service: None,
            flow_direction: None,
            traffic_path: None,
        }
    }
}
