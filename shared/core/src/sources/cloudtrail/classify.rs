//! Classifiers of CloudTrail fields into small enums: identity type, source-IP
//! class, user-agent family and error class. Each runs once per record.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `userIdentity.type`, with identity-less service events as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdentityType {
    /// The account's root user.
    Root,
    /// A long-lived IAM user.
    IamUser,
    /// A role session (including SSO and federation through roles).
    AssumedRole,
    /// An AWS service acting in the account.
    AwsService,
    /// `GetFederationToken` sessions.
    FederatedUser,
    /// Another AWS account.
    AwsAccount,
    /// SAML or web-identity federation, Identity Center users.
    Federated,
    /// No identity (service events) or an unknown type.
    None,
}

impl IdentityType {
    /// Maps `userIdentity.type`.
    pub fn parse(kind: Option<&str>) -> Self {
        match kind {
            Some("Root") => Self::Root,
            Some("IAMUser") => Self::IamUser,
            Some("AssumedRole") => Self::AssumedRole,
            Some("AWSService") => Self::AwsService,
            Some("FederatedUser") => Self::FederatedUser,
            Some("AWSAccount") => Self::AwsAccount,
            Some("SAMLUser" | "WebIdentityUser" | "IdentityCenterUser") => Self::Federated,
            _ => Self::None,
        }
    }

    /// Short name for reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::IamUser => "IAM user",
            Self::AssumedRole => "role session",
            Self::AwsService => "AWS service",
            Self::FederatedUser => "federated user",
            Self::AwsAccount => "another AWS account",
            Self::Federated => "SAML/web-identity user",
            Self::None => "no identity",
        }
    }
}

/// Where a call came from, by `sourceIPAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IpClass {
    /// An AWS service name (`ec2.amazonaws.com`, `AWS Internal`).
    Service,
    /// RFC 1918, CGNAT, loopback, IPv6 ULA or link-local: inside a VPC.
    Private,
    /// A public IPv4 address.
    PublicV4,
    /// A public IPv6 address.
    PublicV6,
    /// Missing or unrecognised.
    Unknown,
}

impl IpClass {
    /// Classifies `sourceIPAddress`.
    pub fn parse(ip: Option<&str>) -> Self {
        let Some(ip) = ip.filter(|s| !s.is_empty()) else {
            return Self::Unknown;
        };
        match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => {
                let o = v4.octets();
                let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
                if v4.is_private() || v4.is_loopback() || v4.is_link_local() || cgnat {
                    Self::Private
                } else {
                    Self::PublicV4
                }
            }
            Ok(IpAddr::V6(v6)) => {
                let seg = v6.segments()[0];
                if v6.is_loopback() || (seg & 0xfe00) == 0xfc00 || (seg & 0xffc0) == 0xfe80 {
                    Self::Private
                } else {
                    Self::PublicV6
                }
            }
            Err(_) if ip.ends_with(".amazonaws.com") || ip == "AWS Internal" => Self::Service,
            Err(_) => Self::Unknown,
        }
    }
}

/// The network an address belongs to, for "new network" checks: the /24 of an
/// IPv4 address, the /48 of an IPv6 one, the string itself otherwise.
pub fn network_of(ip: &str) -> &str {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => ip.rfind('.').map_or(ip, |i| &ip[..i]),
        Ok(IpAddr::V6(_)) => {
            let mut colons = 0;
            for (i, c) in ip.char_indices() {
                if c == ':' {
                    colons += 1;
                    if colons == 3 {
                        return &ip[..i];
                    }
                }
            }
            ip
        }
        Err(_) => ip,
    }
}

/// What kind of client made the call, by `userAgent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UaFamily {
    /// The AWS console in a browser.
    Console,
    /// The AWS CLI.
    Cli,
    /// An AWS SDK in an application.
    Sdk,
    /// Infrastructure as code: Terraform, CloudFormation, CDK, Pulumi.
    Iac,
    /// An AWS service.
    Service,
    /// A generic HTTP tool (curl, python-requests, Go's client, Postman…).
    Script,
    /// Attack tooling or an attack distribution (Kali, Parrot, Pacu…).
    Offensive,
    /// Missing or anything else.
    Other,
}

impl UaFamily {
    /// Classifies a user agent string (case-insensitive, first match wins).
    pub fn parse(ua: Option<&str>) -> Self {
        let Some(ua) = ua.filter(|s| !s.is_empty()) else {
            return Self::Other;
        };
        let u = ua.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| u.contains(n));
        if has(&[
            "kali",
            "parrot",
            "pentoo",
            "pacu",
            "cloudgoat",
            "stratus-red-team",
            "nmap",
            "sqlmap",
        ]) {
            Self::Offensive
        } else if u.starts_with("mozilla/")
            || u == "aws internal"
            || has(&[
                "console.amazonaws.com",
                "signin.amazonaws.com",
                "aws-console",
            ])
        {
            Self::Console
        } else if u.starts_with("aws-cli/") {
            Self::Cli
        } else if has(&[
            "terraform",
            "apn/1.0",
            "cloudformation",
            "aws-cdk",
            "pulumi",
        ]) {
            Self::Iac
        } else if has(&["boto3", "botocore", "aws-sdk-", "aws-internal/"]) {
            Self::Sdk
        } else if u.ends_with(".amazonaws.com") {
            Self::Service
        } else if has(&[
            "curl/",
            "python-requests",
            "python-urllib",
            "go-http-client",
            "okhttp",
            "postman",
            "wget",
            "httpie",
            "powershell",
        ]) {
            Self::Script
        } else {
            Self::Other
        }
    }

    /// Short name for reasons and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Cli => "AWS CLI",
            Self::Sdk => "SDK",
            Self::Iac => "infrastructure-as-code",
            Self::Service => "AWS service",
            Self::Script => "scripted HTTP client",
            Self::Offensive => "attack tooling",
            Self::Other => "unrecognised client",
        }
    }
}

/// The kind of failure, by `errorCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// The call succeeded.
    None,
    /// Denied or unauthenticated: the mark of enumeration with stolen keys.
    AccessDenied,
    /// A named resource does not exist.
    NotFound,
    /// Throttled.
    Throttling,
    /// Any other error.
    Other,
}

impl ErrorClass {
    /// Classifies `errorCode`.
    pub fn parse(code: Option<&str>) -> Self {
        let Some(c) = code.filter(|s| !s.is_empty()) else {
            return Self::None;
        };
        if c.contains("AccessDenied")
            || c.contains("Unauthorized")
            || c.contains("InvalidClientTokenId")
            || c.contains("AuthFailure")
            || c.contains("Forbidden")
        {
            Self::AccessDenied
        } else if c.starts_with("NoSuch") || c.contains("NotFound") {
            Self::NotFound
        } else if c.contains("Throttl")
            || c.contains("RequestLimitExceeded")
            || c.contains("TooManyRequests")
        {
            Self::Throttling
        } else {
            Self::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_source_ips() {
        let cases = [
            (Some("203.0.113.9"), IpClass::PublicV4),
            (Some("10.1.2.3"), IpClass::Private),
            (Some("172.31.0.5"), IpClass::Private),
            (Some("100.72.1.1"), IpClass::Private),
            (Some("2001:db8:85a3::8a2e:370:7334"), IpClass::PublicV6),
            (Some("fd12:3456::1"), IpClass::Private),
            (Some("ec2.amazonaws.com"), IpClass::Service),
            (Some("AWS Internal"), IpClass::Service),
            (Some(""), IpClass::Unknown),
            (None, IpClass::Unknown),
        ];
        for (ip, want) in cases {
            assert_eq!(IpClass::parse(ip), want, "case {ip:?}");
        }
    }

    #[test]
    fn finds_networks() {
        assert_eq!(network_of("203.0.113.9"), "203.0.113");
        assert_eq!(network_of("2001:db8:85a3::8a2e:370:7334"), "2001:db8:85a3");
        assert_eq!(network_of("ec2.amazonaws.com"), "ec2.amazonaws.com");
    }

    #[test]
    fn classifies_user_agents() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
                UaFamily::Console,
            ),
            ("console.amazonaws.com", UaFamily::Console),
            ("aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0", UaFamily::Cli),
            (
                "Boto3/1.34.64 md/Botocore#1.34.64 ua/2.0 os/linux",
                UaFamily::Sdk,
            ),
            ("APN/1.0 HashiCorp/1.0 Terraform/1.7.4", UaFamily::Iac),
            ("cloudformation.amazonaws.com", UaFamily::Iac),
            ("lambda.amazonaws.com", UaFamily::Service),
            ("python-requests/2.31.0", UaFamily::Script),
            (
                "Boto3/1.26.0 Python/3.11.2 Linux/6.1.0-kali7-amd64 Botocore/1.29.0",
                UaFamily::Offensive,
            ),
            ("", UaFamily::Other),
        ];
        for (ua, want) in cases {
            assert_eq!(UaFamily::parse(Some(ua)), want, "case {ua}");
        }
    }

    #[test]
    fn classifies_errors() {
        let cases = [
            (None, ErrorClass::None),
            (Some("AccessDenied"), ErrorClass::AccessDenied),
            (
                Some("Client.UnauthorizedOperation"),
                ErrorClass::AccessDenied,
            ),
            (Some("NoSuchEntityException"), ErrorClass::NotFound),
            (Some("ResourceNotFoundException"), ErrorClass::NotFound),
            (Some("ThrottlingException"), ErrorClass::Throttling),
            (Some("ValidationException"), ErrorClass::Other),
        ];
        for (code, want) in cases {
            assert_eq!(ErrorClass::parse(code), want, "case {code:?}");
        }
    }
}
