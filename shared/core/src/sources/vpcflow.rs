//! VPC Flow Logs lines, as delivered to CloudWatch Logs: the default version-2
//! format, NODATA/SKIPDATA records, and custom formats declared with `${field}`
//! names in any order (fields of versions 3 to 5 included).
//!
//! A line is split on spaces by hand and each field parsed in place: no regex and no
//! allocation per line. Text fields borrow from the line.

mod line;

pub(crate) use line::parse_ip;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(f: &FlowFormat, line: &'a str) -> FlowRecord<'a> {
        match f.parse_line(line) {
            Ok(FlowLine::Record(r)) => r,
            other => panic!("expected a record for {line:?}, got {other:?}"),
        }
    }

    #[test]
    fn parses_default_v2_accept_and_reject() {
        let f = FlowFormat::default();
        let r = record(
            &f,
            "2 123456789012 eni-0a1b2c3d4e5f67890 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        );
        assert_eq!(r.version, Some(2));
        assert_eq!(r.account_id, Some("123456789012"));
        assert_eq!(r.interface_id, Some("eni-0a1b2c3d4e5f67890"));
        assert_eq!(r.src_addr, "172.31.16.139".parse::<IpAddr>().unwrap());
        assert_eq!(r.dst_addr, "172.31.16.21".parse::<IpAddr>().unwrap());
        assert_eq!((r.src_port, r.dst_port, r.protocol), (20641, 22, 6));
        assert_eq!((r.packets, r.bytes), (20, 4249));
        assert_eq!((r.start, r.end), (1418530010, 1418530070));
        assert_eq!(r.action, Action::Accept);
        assert_eq!(r.vpc_id, None);

        let r = record(
            &f,
            "2 123456789012 eni-0a1b2c3d4e5f67890 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n",
        );
        assert_eq!(r.action, Action::Reject);
        assert_eq!(r.dst_port, 3389);
    }

    #[test]
    fn recognises_nodata_and_skipdata() {
        let f = FlowFormat::default();
        assert_eq!(
            f.parse_line(
                "2 123456789012 eni-0a1b2c3d4e5f67890 - - - - - - - 1431280876 1431280934 - NODATA"
            ),
            Ok(FlowLine::NoData)
        );
        assert_eq!(
            f.parse_line("2 123456789012 eni-0a1b2c3d4e5f67890 - - - - - - - 1431280876 1431280934 - SKIPDATA"),
            Ok(FlowLine::SkipData)
        );
    }

    #[test]
    fn parses_ipv6_and_icmp() {
        let f = FlowFormat::default();
        let r = record(
            &f,
            "2 123456789012 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
        );
        assert!(r.src_addr.is_ipv6());
        assert_eq!(
            r.dst_addr,
            "2001:db8:1234:a102:3304:8879:34cf:4071"
                .parse::<IpAddr>()
                .unwrap()
        );
        let icmp = record(
            &f,
            "2 123456789012 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
        );
        assert_eq!((icmp.protocol, icmp.src_port, icmp.dst_port), (1, 0, 0));
    }

    #[test]
    fn parses_custom_v5_format_in_declared_order() {
        let f = FlowFormat::parse(
            "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}",
        )
        .unwrap();
        assert!(!f.is_default());
        let r = record(
            &f,
            "5 vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e5f67890 eni-0a1b2c3d4e5f67890 123456789012 IPv4 10.0.1.5 52.94.76.10 43416 443 10.0.1.5 52.94.76.10 6 5060 12 1700000000 1700000060 ACCEPT 19 OK us-east-1 use1-az4 - - - S3 egress 8",
        );
        assert_eq!(r.version, Some(5));
        assert_eq!(r.vpc_id, Some("vpc-0a1b2c3d"));
        assert_eq!(r.subnet_id, Some("subnet-0a1b2c3d"));
        assert_eq!(r.instance_id, Some("i-0a1b2c3d4e5f67890"));
        assert_eq!(r.flow_type, Some("IPv4"));
        // bytes before packets, as declared
        assert_eq!((r.bytes, r.packets), (5060, 12));
        assert_eq!(r.tcp_flags, Some(19));
        assert_eq!(r.pkt_dst_addr, Some("52.94.76.10".parse().unwrap()));
        assert_eq!(r.region, Some("us-east-1"));
        assert_eq!(r.az_id, Some("use1-az4"));
        assert_eq!(r.sublocation_type, None);
        assert_eq!(r.pkt_src_aws_service, None);
        assert_eq!(r.pkt_dst_aws_service, Some("S3"));
        assert_eq!(r.flow_direction, Some(FlowDirection::Egress));
        assert_eq!(r.traffic_path, Some(8));
        // Round trip through Display.
        assert_eq!(FlowFormat::parse(&f.to_string()).unwrap(), f);
    }

    #[test]
    fn custom_format_without_log_status_reports_empty_windows_as_nodata() {
        let f = FlowFormat::parse(
            "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${ecs-cluster-name}",
        )
        .unwrap();
        assert_eq!(f.parse_line("- - - - - - - 1 2 - -"), Ok(FlowLine::NoData));
        let r = record(&f, "10.0.0.1 10.0.0.2 1 2 17 1 60 1 2 ACCEPT my-cluster");
        assert_eq!(r.protocol, 17);
        assert_eq!(r.version, None);
    }

    #[test]
    fn default_format_string_parses_to_the_default() {
        assert!(FlowFormat::parse(DEFAULT_FORMAT).unwrap().is_default());
    }

    #[test]
    fn format_errors_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "${version} ${srcaddr} ${bogus-field}",
                "unknown flow log field `bogus-field`",
            ),
            (
                "${version} srcaddr",
                "flow log format token `srcaddr` is not of the form ${field}",
            ),
            (
                "${srcaddr} ${srcaddr}",
                "flow log field `srcaddr` appears twice in the format",
            ),
            (
                "${version} ${srcaddr} ${dstaddr}",
                "flow log format lacks required fields: srcport, dstport, protocol, packets, bytes, start, end, action",
            ),
        ];
        for (spec, msg) in cases {
            let err = FlowFormat::parse(spec).unwrap_err();
            assert_eq!(err.to_string(), *msg, "format {spec:?}");
        }
    }

    #[test]
    fn bad_lines_are_errors_without_content() {
        let f = FlowFormat::default();
        let cases: &[(&str, FlowError)] = &[
            (
                "",
                FlowError::FieldCount {
                    expected: 14,
                    found: 0,
                },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT",
                FlowError::FieldCount {
                    expected: 14,
                    found: 13,
                },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK extra",
                FlowError::FieldCount {
                    expected: 14,
                    found: 15,
                },
            ),
            (
                "2 123456789012 eni-1 10.0.0.999 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                FlowError::BadValue { field: "srcaddr" },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 70000 2 6 1 1 1 2 ACCEPT OK",
                FlowError::BadValue { field: "srcport" },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ALLOW OK",
                FlowError::BadValue { field: "action" },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT MAYBE",
                FlowError::BadValue {
                    field: "log-status",
                },
            ),
            (
                "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 - 1 1 2 ACCEPT OK",
                FlowError::BadValue { field: "packets" },
            ),
        ];
        for (line, want) in cases {
            let got = f.parse_line(line);
            assert_eq!(got.as_ref().err(), Some(want), "line {line:?} gave {got:?}");
            assert!(
                !want.to_string().contains("10.0.0"),
                "message leaks content"
            );
        }
    }

    #[test]
    fn field_names_round_trip() {
        for (name, field) in NAMES {
            if *field != FlowField::Ignored {
                assert_eq!(FlowField::from_name(name), Some(*field));
                assert_eq!(field.name(), *name);
            }
        }
        assert_eq!(
            FlowField::from_name("ecs-task-arn"),
            Some(FlowField::Ignored)
        );
        assert_eq!(FlowField::from_name("ecs-"), None);
    }
}
