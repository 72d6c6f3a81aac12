//! VPC Flow Logs lines, as delivered to CloudWatch Logs: the default version-2
//! format, NODATA/SKIPDATA records, and custom formats declared with `${field}`
//! names in any order (fields of versions 3 to 5 included).
//!
//! A line is split on spaces by hand and each field parsed in place: no regex and no
//! allocation per line. Text fields borrow from the line.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The default (version 2) format, as AWS documents it.
pub const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} \
     ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// A field of a flow log record (the names of the AWS documentation, versions 2–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowField {
    /// `version`.
    Version,
    /// `account-id`.
    AccountId,
    /// `interface-id`.
    InterfaceId,
    /// `srcaddr`.
    SrcAddr,
    /// `dstaddr`.
    DstAddr,
    /// `srcport`.
    SrcPort,
    /// `dstport`.
    DstPort,
    /// `protocol` (IANA number).
    Protocol,
    /// `packets`.
    Packets,
    /// `bytes`.
    Bytes,
    /// `start` (epoch seconds).
    Start,
    /// `end` (epoch seconds).
    End,
    /// `action`: `ACCEPT` or `REJECT`.
    Action,
    /// `log-status`: `OK`, `NODATA` or `SKIPDATA`.
    LogStatus,
    /// `vpc-id` (v3).
    VpcId,
    /// `subnet-id` (v3).
    SubnetId,
    /// `instance-id` (v3).
    InstanceId,
    /// `tcp-flags` (v3).
    TcpFlags,
    /// `type`: `IPv4`, `IPv6` or `EFA` (v3).
    Type,
    /// `pkt-srcaddr` (v3).
    PktSrcAddr,
    /// `pkt-dstaddr` (v3).
    PktDstAddr,
    /// `region` (v4).
    Region,
    /// `az-id` (v4).
    AzId,
    /// `sublocation-type` (v4).
    SublocationType,
    /// `sublocation-id` (v4).
    SublocationId,
    /// `pkt-src-aws-service` (v5).
    PktSrcAwsService,
    /// `pkt-dst-aws-service` (v5).
    PktDstAwsService,
    /// `flow-direction`: `ingress` or `egress` (v5).
    FlowDirection,
    /// `traffic-path` (v5, 1–8).
    TrafficPath,
    /// A known field trailhound does not use (`ecs-*`, `reject-reason`, `resource-id`…):
    /// accepted in a format and skipped in lines.
    Ignored,
}

const NAMES: &[(&str, FlowField)] = &[
    ("version", FlowField::Version),
    ("account-id", FlowField::AccountId),
    ("interface-id", FlowField::InterfaceId),
    ("srcaddr", FlowField::SrcAddr),
    ("dstaddr", FlowField::DstAddr),
    ("srcport", FlowField::SrcPort),
    ("dstport", FlowField::DstPort),
    ("protocol", FlowField::Protocol),
    ("packets", FlowField::Packets),
    ("bytes", FlowField::Bytes),
    ("start", FlowField::Start),
    ("end", FlowField::End),
    ("action", FlowField::Action),
    ("log-status", FlowField::LogStatus),
    ("vpc-id", FlowField::VpcId),
    ("subnet-id", FlowField::SubnetId),
    ("instance-id", FlowField::InstanceId),
    ("tcp-flags", FlowField::TcpFlags),
    ("type", FlowField::Type),
    ("pkt-srcaddr", FlowField::PktSrcAddr),
    ("pkt-dstaddr", FlowField::PktDstAddr),
    ("region", FlowField::Region),
    ("az-id", FlowField::AzId),
    ("sublocation-type", FlowField::SublocationType),
    ("sublocation-id", FlowField::SublocationId),
    ("pkt-src-aws-service", FlowField::PktSrcAwsService),
    ("pkt-dst-aws-service", FlowField::PktDstAwsService),
    ("flow-direction", FlowField::FlowDirection),
    ("traffic-path", FlowField::TrafficPath),
    ("reject-reason", FlowField::Ignored),
    ("resource-id", FlowField::Ignored),
    ("encryption-status", FlowField::Ignored),
];

/// Fields every format must declare: without them a record says nothing a detector
/// can use.
const REQUIRED: &[FlowField] = &[
    FlowField::SrcAddr,
    FlowField::DstAddr,
    FlowField::SrcPort,
    FlowField::DstPort,
    FlowField::Protocol,
    FlowField::Packets,
    FlowField::Bytes,
    FlowField::Start,
    FlowField::End,
    FlowField::Action,
];

impl FlowField {
    /// The field of a name as written inside `${…}`, if known. Names starting with
    /// `ecs-` and a few other unused fields map to [`FlowField::Ignored`].
    pub fn from_name(name: &str) -> Option<Self> {
        if name.starts_with("ecs-") && name.len() > 4 {
            return Some(FlowField::Ignored);
        }
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The AWS name of the field (`ignored` for [`FlowField::Ignored`]).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("ignored", |(n, _)| n)
    }
}

/// Why a flow format or a flow log line was refused. Messages name fields, never
/// the content of a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// A `${name}` the VPC Flow Logs documentation does not define.
    #[error("unknown flow log field `{name}`")]
    UnknownField {
        /// The name as written.
        name: String,
    },
    /// A format token that is not `${name}`.
    #[error("flow log format token `{token}` is not of the form ${{field}}")]
    BadToken {
        /// The token as written.
        token: String,
    },
    /// A field declared twice in a format.
    #[error("flow log field `{name}` appears twice in the format")]
    DuplicateField {
        /// The field name.
        name: &'static str,
    },
    /// A format lacking fields trailhound needs.
    #[error("flow log format lacks required fields: {names}")]
    MissingFields {
        /// Comma-separated names.
        names: String,
    },
    /// A line with more or fewer fields than the format.
    #[error("flow log line has {found} fields, the format has {expected}")]
    FieldCount {
        /// Fields in the format.
        expected: usize,
        /// Fields in the line (counted up to one more than expected).
        found: usize,
    },
    /// A field whose value does not parse (e.g. an address that is not an IP).
    #[error("flow log field `{field}` has an invalid value")]
    BadValue {
        /// The field name.
        field: &'static str,
    },
}

/// The ordered fields of a flow log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    fields: Box<[FlowField]>,
}

impl Default for FlowFormat {
    fn default() -> Self {
        Self::default_v2()
    }
}

impl FromStr for FlowFormat {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<Self, FlowError> {
        Self::parse(s)
    }
}

impl fmt::Display for FlowFormat {
    /// Writes the format back as `${a} ${b} …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "${{{}}}", field.name())?;
        }
        Ok(())
    }
}

/// `ACCEPT` or `REJECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The traffic was accepted.
    Accept,
    /// The traffic was rejected (security group or network ACL).
    Reject,
}

/// `ingress` or `egress` (v5 `flow-direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// Traffic into the interface.
    Ingress,
    /// Traffic out of the interface.
    Egress,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "lines are parsed and consumed one at a time on the stack; boxing would allocate per line"
)]
pub enum FlowLine<'a> {
    /// A flow (`log-status` `OK`).
    Record(FlowRecord<'a>),
    /// No traffic on the interface during the capture window.
    NoData,
    /// Records were skipped during the capture window (capacity or internal error).
    SkipData,
}

/// One flow record. Fields of versions 3–5 are `None` when the format does not
/// declare them or the line has `-` there.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord<'a> {
    /// `version`, when declared.
    pub version: Option<u8>,
    /// `account-id`.
    pub account_id: Option<&'a str>,
    /// `interface-id` (`eni-…`).
    pub interface_id: Option<&'a str>,
    /// `srcaddr`.
    pub src_addr: IpAddr,
    /// `dstaddr`.
    pub dst_addr: IpAddr,
    /// `srcport` (0 when `-`, e.g. ICMP).
    pub src_port: u16,
    /// `dstport` (0 when `-`).
    pub dst_port: u16,
    /// `protocol`, IANA number (6 TCP, 17 UDP, 1 ICMP).
    pub protocol: u8,
    /// `packets`.
    pub packets: u64,
    /// `bytes`.
    pub bytes: u64,
    /// `start`, epoch seconds.
    pub start: i64,
    /// `end`, epoch seconds.
    pub end: i64,
    /// `action`.
    pub action: Action,
    /// `vpc-id`.
    pub vpc_id: Option<&'a str>,
    /// `subnet-id`.
    pub subnet_id: Option<&'a str>,
    /// `instance-id`.
    pub instance_id: Option<&'a str>,
    /// `tcp-flags`, the OR of the flags seen (FIN 1, SYN 2, RST 4, SYN-ACK 18).
    pub tcp_flags: Option<u16>,
    /// `type`: `IPv4`, `IPv6` or `EFA`.
    pub flow_type: Option<&'a str>,
    /// `pkt-srcaddr`.
    pub pkt_src_addr: Option<IpAddr>,
    /// `pkt-dstaddr`.
    pub pkt_dst_addr: Option<IpAddr>,
    /// `region`.
    pub region: Option<&'a str>,
    /// `az-id`.
    pub az_id: Option<&'a str>,
    /// `sublocation-type`.
    pub sublocation_type: Option<&'a str>,
    /// `sublocation-id`.
    pub sublocation_id: Option<&'a str>,
    /// `pkt-src-aws-service`.
    pub pkt_src_aws_service: Option<&'a str>,
    /// `pkt-dst-aws-service`.
    pub pkt_dst_aws_service: Option<&'a str>,
    /// `flow-direction`.
    pub flow_direction: Option<FlowDirection>,
    /// `traffic-path` (1–8).
    pub traffic_path: Option<u8>,
}

impl FlowFormat {
    /// The default version-2 format ([`DEFAULT_FORMAT`]).
    pub fn default_v2() -> Self {
        Self {
            fields: Box::new([
                FlowField::Version,
                FlowField::AccountId,
                FlowField::InterfaceId,
                FlowField::SrcAddr,
                FlowField::DstAddr,
                FlowField::SrcPort,
                FlowField::DstPort,
                FlowField::Protocol,
                FlowField::Packets,
                FlowField::Bytes,
                FlowField::Start,
                FlowField::End,
                FlowField::Action,
                FlowField::LogStatus,
            ]),
        }
    }

    /// Parses a format as declared in the flow log (`${version} ${vpc-id} …`,
    /// separated by spaces). Every name must be a documented field; `srcaddr`,
    /// `dstaddr`, `srcport`, `dstport`, `protocol`, `packets`, `bytes`, `start`,
    /// `end` and `action` must be present; no field may appear twice.
    pub fn parse(spec: &str) -> Result<Self, FlowError> {
        let mut fields = Vec::new();
        for token in spec.split_ascii_whitespace() {
            let name = token
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| FlowError::BadToken {
                    token: token.to_owned(),
                })?;
            let field = FlowField::from_name(name).ok_or_else(|| FlowError::UnknownField {
                name: name.to_owned(),
            })?;
            if field != FlowField::Ignored && fields.contains(&field) {
                return Err(FlowError::DuplicateField { name: field.name() });
            }
            fields.push(field);
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .filter(|f| !fields.contains(f))
            .map(|f| f.name())
            .collect();
        if !missing.is_empty() {
            return Err(FlowError::MissingFields {
                names: missing.join(", "),
            });
        }
        Ok(Self {
            fields: fields.into_boxed_slice(),
        })
    }

    /// The fields in line order.
    pub fn fields(&self) -> &[FlowField] {
        &self.fields
    }

    /// Whether this is the default version-2 format.
    pub fn is_default(&self) -> bool {
        *self == Self::default_v2()
    }

    /// Parses one line (a trailing `\r\n` is ignored). A line whose `log-status` is
    /// `NODATA` or `SKIPDATA` — or, in a format without `log-status`, whose addresses
    /// are both `-` — is [`FlowLine::NoData`] / [`FlowLine::SkipData`].
    pub fn parse_line<'a>(&self, line: &'a str) -> Result<FlowLine<'a>, FlowError> {
        let mut rec = Partial::default();
        let mut tokens = line.split_ascii_whitespace();
        let mut n = 0;
        for (&field, tok) in self.fields.iter().zip(tokens.by_ref()) {
            n += 1;
            rec.set(field, tok)?;
        }
        if n < self.fields.len() || tokens.next().is_some() {
            let found = if n < self.fields.len() { n } else { n + 1 };
            return Err(FlowError::FieldCount {
                expected: self.fields.len(),
                found,
            });
        }
        match rec.status {
            Status::NoData => return Ok(FlowLine::NoData),
            Status::SkipData => return Ok(FlowLine::SkipData),
            Status::Ok => {}
        }
        rec.finish()
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Status {
    #[default]
    Ok,
    NoData,
    SkipData,
}

/// A record being filled field by field.
#[derive(Default)]
struct Partial<'a> {
    status: Status,
    version: Option<u8>,
    account_id: Option<&'a str>,
    interface_id: Option<&'a str>,
    src_addr: Option<IpAddr>,
    dst_addr: Option<IpAddr>,
    src_port: u16,
    dst_port: u16,
    protocol: Option<u8>,
    packets: Option<u64>,
    bytes: Option<u64>,
    start: Option<i64>,
    end: Option<i64>,
    action: Option<Action>,
    vpc_id: Option<&'a str>,
    subnet_id: Option<&'a str>,
    instance_id: Option<&'a str>,
    tcp_flags: Option<u16>,
    flow_type: Option<&'a str>,
    pkt_src_addr: Option<IpAddr>,
    pkt_dst_addr: Option<IpAddr>,
    region: Option<&'a str>,
    az_id: Option<&'a str>,
    sublocation_type: Option<&'a str>,
    sublocation_id: Option<&'a str>,
    pkt_src_aws_service: Option<&'a str>,
    pkt_dst_aws_service: Option<&'a str>,
    flow_direction: Option<FlowDirection>,
    traffic_path: Option<u8>,
}

/// `None` for `-`, else the value parsed, else an error naming the field.
fn opt<T: FromStr>(tok: &str, field: FlowField) -> Result<Option<T>, FlowError> {
    if tok == "-" {
        return Ok(None);
    }
    tok.parse().map(Some).map_err(|_| FlowError::BadValue {
        field: field.name(),
    })
}

fn need<T>(v: Option<T>, field: FlowField) -> Result<T, FlowError> {
    v.ok_or(FlowError::BadValue {
        field: field.name(),
    })
}

fn text(tok: &str) -> Option<&str> {
    (tok != "-").then_some(tok)
}

impl<'a> Partial<'a> {
    fn set(&mut self, field: FlowField, tok: &'a str) -> Result<(), FlowError> {
        use FlowField as F;
        match field {
            F::Version => self.version = opt(tok, field)?,
            F::AccountId => self.account_id = text(tok),
            F::InterfaceId => self.interface_id = text(tok),
            F::SrcAddr => self.src_addr = opt(tok, field)?,
            F::DstAddr => self.dst_addr = opt(tok, field)?,
            F::SrcPort => self.src_port = opt(tok, field)?.unwrap_or(0),
            F::DstPort => self.dst_port = opt(tok, field)?.unwrap_or(0),
            F::Protocol => self.protocol = opt(tok, field)?,
            F::Packets => self.packets = opt(tok, field)?,
            F::Bytes => self.bytes = opt(tok, field)?,
            F::Start => self.start = opt(tok, field)?,
            F::End => self.end = opt(tok, field)?,
            F::Action => {
                self.action = match tok {
                    "ACCEPT" => Some(Action::Accept),
                    "REJECT" => Some(Action::Reject),
                    "-" => None,
                    _ => {
                        return Err(FlowError::BadValue {
                            field: field.name(),
                        });
                    }
                }
            }
            F::LogStatus => {
                self.status = match tok {
                    "OK" | "-" => Status::Ok,
                    "NODATA" => Status::NoData,
                    "SKIPDATA" => Status::SkipData,
                    _ => {
                        return Err(FlowError::BadValue {
                            field: field.name(),
                        });
                    }
                }
            }
            F::VpcId => self.vpc_id = text(tok),
            F::SubnetId => self.subnet_id = text(tok),
            F::InstanceId => self.instance_id = text(tok),
            F::TcpFlags => self.tcp_flags = opt(tok, field)?,
            F::Type => self.flow_type = text(tok),
            F::PktSrcAddr => self.pkt_src_addr = opt(tok, field)?,
            F::PktDstAddr => self.pkt_dst_addr = opt(tok, field)?,
            F::Region => self.region = text(tok),
            F::AzId => self.az_id = text(tok),
            F::SublocationType => self.sublocation_type = text(tok),
            F::SublocationId => self.sublocation_id = text(tok),
            F::PktSrcAwsService => self.pkt_src_aws_service = text(tok),
            F::PktDstAwsService => self.pkt_dst_aws_service = text(tok),
            F::FlowDirection => {
                self.flow_direction = match tok {
                    "ingress" => Some(FlowDirection::Ingress),
                    "egress" => Some(FlowDirection::Egress),
                    "-" => None,
                    _ => {
                        return Err(FlowError::BadValue {
                            field: field.name(),
                        });
                    }
                }
            }
            F::TrafficPath => self.traffic_path = opt(tok, field)?,
            F::Ignored => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<FlowLine<'a>, FlowError> {
        let (Some(src_addr), Some(dst_addr)) = (self.src_addr, self.dst_addr) else {
            // A format without log-status still reports empty windows with `-`.
            if self.src_addr.is_none() && self.dst_addr.is_none() && self.action.is_none() {
                return Ok(FlowLine::NoData);
            }
            let field = if self.src_addr.is_none() {
                FlowField::SrcAddr
            } else {
                FlowField::DstAddr
            };
            return Err(FlowError::BadValue {
                field: field.name(),
            });
        };
        Ok(FlowLine::Record(FlowRecord {
            version: self.version,
            account_id: self.account_id,
            interface_id: self.interface_id,
            src_addr,
            dst_addr,
            src_port: self.src_port,
            dst_port: self.dst_port,
            protocol: need(self.protocol, FlowField::Protocol)?,
            packets: need(self.packets, FlowField::Packets)?,
            bytes: need(self.bytes, FlowField::Bytes)?,
            start: need(self.start, FlowField::Start)?,
            end: need(self.end, FlowField::End)?,
            action: need(self.action, FlowField::Action)?,
            vpc_id: self.vpc_id,
            subnet_id: self.subnet_id,
            instance_id: self.instance_id,
            tcp_flags: self.tcp_flags,
            flow_type: self.flow_type,
            pkt_src_addr: self.pkt_src_addr,
            pkt_dst_addr: self.pkt_dst_addr,
            region: self.region,
            az_id: self.az_id,
            sublocation_type: self.sublocation_type,
            sublocation_id: self.sublocation_id,
            pkt_src_aws_service: self.pkt_src_aws_service,
            pkt_dst_aws_service: self.pkt_dst_aws_service,
            flow_direction: self.flow_direction,
            traffic_path: self.traffic_path,
        }))
    }
}
