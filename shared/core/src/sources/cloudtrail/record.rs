//! The CloudTrail record as AWS writes it, deserialised with borrowed strings:
//! only the fields trailhound uses are typed, everything else is skipped by serde
//! without building a `serde_json::Value`.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// One CloudTrail record (`eventVersion` 1.0x and later).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord<'a> {
    /// Record format version, e.g. `1.08`.
    #[serde(borrow, default)]
    pub event_version: Option<Cow<'a, str>>,
    /// Who made the call; absent on some service events.
    #[serde(borrow, default)]
    pub user_identity: Option<RawIdentity<'a>>,
    /// `2024-03-04T10:15:30Z`.
    #[serde(borrow)]
    pub event_time: Cow<'a, str>,
    /// `iam.amazonaws.com`.
    #[serde(borrow)]
    pub event_source: Cow<'a, str>,
    /// `CreateAccessKey`.
    #[serde(borrow)]
    pub event_name: Cow<'a, str>,
    /// Region of the call.
    #[serde(borrow, default)]
    pub aws_region: Option<Cow<'a, str>>,
    /// IPv4, IPv6, or a service name such as `ec2.amazonaws.com`.
    #[serde(borrow, default, rename = "sourceIPAddress")]
    pub source_ip_address: Option<Cow<'a, str>>,
    /// The caller's user agent.
    #[serde(borrow, default)]
    pub user_agent: Option<Cow<'a, str>>,
    /// Present when the call failed.
    #[serde(borrow, default)]
    pub error_code: Option<Cow<'a, str>>,
    /// Request parameters, kept raw: only a few detections look inside.
    #[serde(borrow, default)]
    pub request_parameters: Option<&'a RawValue>,
    /// Response elements, kept raw (ConsoleLogin's result is in here).
    #[serde(borrow, default)]
    pub response_elements: Option<&'a RawValue>,
    /// Extra data, kept raw (ConsoleLogin's `MFAUsed` is in here).
    #[serde(borrow, default)]
    pub additional_event_data: Option<&'a RawValue>,
    /// Unique id of the event.
    #[serde(borrow, rename = "eventID")]
    pub event_id: Cow<'a, str>,
    /// Whether the call only reads.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// `AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`, …
    #[serde(borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    /// Account that received the event.
    #[serde(borrow, default)]
    pub recipient_account_id: Option<Cow<'a, str>>,
}

/// `userIdentity`, for every identity type CloudTrail writes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIdentity<'a> {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`, `AWSAccount`,
    /// `SAMLUser`, `WebIdentityUser`, `IdentityCenterUser`, `Unknown`.
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    /// Principal id (`AIDA…`, `AROA…:session`).
    #[serde(borrow, default)]
    pub principal_id: Option<Cow<'a, str>>,
    /// ARN of the caller.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// Account of the caller.
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    /// IAM user name (IAMUser, and Root sometimes).
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    /// Service that acted on the caller's behalf.
    #[serde(borrow, default)]
    pub invoked_by: Option<Cow<'a, str>>,
    /// Session details for temporary credentials.
    #[serde(borrow, default)]
    pub session_context: Option<RawSessionContext<'a>>,
    /// SAML / web identity federation provider, for display.
    #[serde(borrow, default)]
    pub identity_provider: Option<Cow<'a, str>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSessionContext<'a> {
    /// The role or user the session was issued from.
    #[serde(borrow, default)]
    pub session_issuer: Option<RawSessionIssuer<'a>>,
    /// MFA and creation date.
    #[serde(borrow, default)]
    pub attributes: Option<RawSessionAttributes<'a>>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSessionIssuer<'a> {
    /// ARN of the issuing role or user.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// Name of the issuing role or user.
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSessionAttributes<'a> {
    /// `"true"` or `"false"` (a string in CloudTrail; a bool is accepted too).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub mfa_authenticated: Option<bool>,
    #[serde(skip)]
    _marker: std::marker::PhantomData<&'a ()>,
}

/// Accepts `true`, `"true"` (any case), `false`, `"false"`, or null.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a boolean or \"true\"/\"false\"")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(match v {
                _ if v.eq_ignore_ascii_case("true") => Some(true),
                _ if v.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            })
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_option(V)
}

/// Parses one record from its raw JSON bytes.
pub fn parse(bytes: &[u8]) -> Result<RawRecord<'_>, serde_json::Error> {
    serde_json::from_slice(bytes)
}
