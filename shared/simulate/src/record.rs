//! One CloudTrail record, serialised with the field names and field order CloudTrail
//! writes, and the rendered event every simulator part hands to the file layout.

use super::ids::{SimRng, s3_request_id, uuid4};
use super::timefmt::iso;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

/// `userIdentity`: one struct covers every shape; absent parts are skipped, so field
/// order stays CloudTrail's (type, principalId, arn, accountId, accessKeyId, userName…).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<Issuer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_id_federation_data: Option<WebIdFederation>,
    pub attributes: SessionAttributes,
    /// Present on instance-profile sessions delivered by IMDS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_role_delivery: Option<&'static str>,
}

/// `sessionContext.sessionIssuer`: the role or user whose credentials were used.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Issuer {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    pub user_name: String,
}

/// `sessionContext.webIdFederationData`: `{}` for plain role sessions.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebIdFederation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federated_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Map<String, Value>>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionAttributes {
    pub creation_date: String,
    pub mfa_authenticated: &'static str,
}

/// `tlsDetails`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsDetails<'a> {
    tls_version: &'static str,
    cipher_suite: &'static str,
    client_provided_host_header: &'a str,
}

/// The record as CloudTrail lays it out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: &'a Identity,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<&'a Value>,
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<&'a Value>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    shared_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_event_details: Option<&'a Value>,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<TlsDetails<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_credential_from_console: Option<&'static str>,
}

/// Who makes a call, from where and with what client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor<'a> {
    pub identity: &'a Identity,
    pub ip: &'a str,
    pub ua: &'a str,
    /// The session came from the console (`sessionCredentialFromConsole`).
    pub console: bool,
    /// Private calls through an interface endpoint carry its id.
    pub vpce: Option<&'a str>,
}

/// `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    ApiCall,
    ConsoleSignIn,
    ServiceEvent,
}

/// What was called and what came back.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    pub params: Value,
    pub response: Value,
    pub extra: Option<Value>,
    pub resources: Option<Value>,
    pub error: Option<(String, String)>,
    pub event_type: EventType,
    /// A data event (S3 object access) rather than a management event.
    pub data: bool,
    pub service_details: Option<Value>,
}

impl Call {
    /// A successful API call with the given request parameters.
    pub fn new(source: &'static str, name: &'static str, read_only: bool, params: Value) -> Self {
        Self {
            source,
            name,
            read_only,
            params,
            response: Value::Null,
            extra: None,
            resources: None,
            error: None,
            event_type: EventType::ApiCall,
            data: false,
            service_details: None,
        }
    }

    /// Sets `responseElements`.
    pub fn respond(mut self, response: Value) -> Self {
        self.response = response;
        self
    }

    /// Sets `resources`.
    pub fn resources(mut self, resources: Value) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Makes the call fail; failed calls carry no response.
    pub fn fail(mut self, code: &str, message: String) -> Self {
        self.error = Some((code.to_owned(), message));
        self.response = Value::Null;
        self
    }
}

/// A rendered record with what the layout and the labels need.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub t: i64,
    pub region: String,
    /// Tie-break for equal times: keeps a scenario's steps in the order they happened.
    pub order: u64,
    pub event_id: String,
    pub json: String,
    pub label: u8,
    pub scenario: &'static str,
}

/// Services whose calls CloudTrail records in us-east-1 whatever the caller's region.
const GLOBAL: &[&str] = &[
    "iam.amazonaws.com",
    "organizations.amazonaws.com",
    "route53.amazonaws.com",
    "cloudfront.amazonaws.com",
    "health.amazonaws.com",
    "signin.amazonaws.com",
];

/// The region a call is recorded in.
pub(crate) fn recorded_region<'a>(source: &str, region: &'a str) -> &'a str {
    if GLOBAL.contains(&source) {
        "us-east-1"
    } else {
        region
    }
}

/// `eventVersion`: stable per API, as each service moves to a new version on its own.
fn event_version(call: &Call) -> &'static str {
    if call.event_type == EventType::ServiceEvent {
        return "1.08";
    }
    if call.data {
        return "1.10";
    }
    const VERSIONS: [&str; 8] = [
        "1.08", "1.09", "1.09", "1.09", "1.10", "1.10", "1.11", "1.08",
    ];
    let h = call
        .name
        .bytes()
        .chain(call.source.bytes())
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    VERSIONS[(h % 8) as usize]
}

fn is_service_ip(ip: &str) -> bool {
    ip.ends_with(".amazonaws.com") || ip == "AWS Internal"
}

fn tls_for(ua: &str, rng: &mut SimRng) -> (&'static str, &'static str) {
    let old = ua.starts_with("aws-cli/1.")
        || ua.contains("Botocore/1.1")
        || ua.contains("python-requests")
        || ua.starts_with("curl");
    if old || rng.random_bool(0.08) {
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    } else if rng.random_bool(0.7) {
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    } else {
        ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    }
}

fn host_header(source: &str, region: &str, params: &Value) -> String {
    let svc = source.trim_end_matches(".amazonaws.com");
    match svc {
        "iam" | "organizations" | "route53" | "cloudfront" => format!("{svc}.amazonaws.com"),
        "signin" => "signin.aws.amazon.com".to_owned(),
        "s3" => match params.get("bucketName").and_then(Value::as_str) {
            Some(b) => format!("{b}.s3.{region}.amazonaws.com"),
            None => format!("s3.{region}.amazonaws.com"),
        },
        _ => format!("{svc}.{region}.amazonaws.com"),
    }
}

/// Renders one record at time `t` in `region` and wraps it as an [`Event`].
pub(crate) fn render(
    account: &str,
    t: i64,
    region: &str,
    actor: &Actor<'_>,
    call: &Call,
    rng: &mut SimRng,
) -> Result<Event, serde_json::Error> {
    let region = recorded_region(call.source, region);
    let event_id = uuid4(rng);
    let service_event = call.event_type == EventType::ServiceEvent;
    let request_id = match (call.event_type, call.source) {
        (EventType::ApiCall, "s3.amazonaws.com") => Some(s3_request_id(rng)),
        (EventType::ApiCall, _) => Some(uuid4(rng)),
        _ => None,
    };
    let host = host_header(call.source, region, &call.params);
    let tls_details = if is_service_ip(actor.ip) || service_event {
        None
    } else {
        let (tls_version, cipher_suite) = tls_for(actor.ua, rng);
        Some(TlsDetails {
            tls_version,
            cipher_suite,
            client_provided_host_header: &host,
        })
    };
    let shared_event_id =
        (actor.identity.kind == Some("AWSService") || service_event).then(|| uuid4(rng));
    let record = Record {
        event_version: event_version(call),
        user_identity: actor.identity,
        event_time: iso(t),
        event_source: call.source,
        event_name: call.name,
        aws_region: region,
        source_ip_address: actor.ip,
        user_agent: actor.ua,
        error_code: call
            .error
            .as_ref()
            .map(|e| e.0.as_str())
            .filter(|c| !c.is_empty()),
        error_message: call.error.as_ref().map(|e| e.1.as_str()),
        request_parameters: &call.params,
        response_elements: &call.response,
        additional_event_data: call.extra.as_ref(),
        request_id,
        event_id: &event_id,
        read_only: call.read_only,
        resources: call.resources.as_ref(),
        event_type: match call.event_type {
            EventType::ApiCall => "AwsApiCall",
            EventType::ConsoleSignIn => "AwsConsoleSignIn",
            EventType::ServiceEvent => "AwsServiceEvent",
        },
        management_event: !call.data,
        recipient_account_id: account,
        shared_event_id,
        vpc_endpoint_id: actor.vpce,
        vpc_endpoint_account_id: actor.vpce.map(|_| account),
        service_event_details: call.service_details.as_ref(),
        event_category: if call.data { "Data" } else { "Management" },
        tls_details,
        session_credential_from_console: actor.console.then_some("true"),
    };
    let json = serde_json::to_string(&record)?;
    Ok(Event {
        t,
        region: region.to_owned(),
        order: 0,
        event_id,
        json,
        label: 0,
        scenario: "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::stream;
    use serde_json::json;

    fn user() -> Identity {
        Identity {
            kind: Some("IAMUser"),
            principal_id: Some("AIDAEXAMPLEEXAMPLE123".into()),
            arn: Some("arn:aws:iam::123456789012:user/alice".into()),
            account_id: Some("123456789012".into()),
            access_key_id: Some("AKIAEXAMPLEEXAMPLE12".into()),
            user_name: Some("alice".into()),
            ..Identity::default()
        }
    }

    #[test]
    fn writes_fields_in_cloudtrail_order() -> Result<(), serde_json::Error> {
        let id = user();
        let actor = Actor {
            identity: &id,
            ip: "198.51.100.7",
            ua: "aws-cli/2.15.30",
            console: false,
            vpce: None,
        };
        let call = Call::new(
            "iam.amazonaws.com",
            "GetUser",
            true,
            json!({"userName": "bob"}),
        )
        .fail(
            "NoSuchEntity",
            "The user with name bob cannot be found.".into(),
        );
        let mut rng = stream(1, "t", 0);
        let ev = render(
            "123456789012",
            1_709_547_330,
            "eu-west-1",
            &actor,
            &call,
            &mut rng,
        )?;
        let order = [
            "\"eventVersion\"",
            "\"userIdentity\"",
            "\"eventTime\":\"2024-03-04T10:15:30Z\"",
            "\"eventSource\"",
            "\"eventName\"",
            "\"awsRegion\":\"us-east-1\"",
            "\"sourceIPAddress\"",
            "\"userAgent\"",
            "\"errorCode\"",
            "\"errorMessage\"",
            "\"requestParameters\"",
            "\"responseElements\":null",
            "\"requestID\"",
            "\"eventID\"",
            "\"readOnly\":true",
            "\"eventType\":\"AwsApiCall\"",
            "\"managementEvent\":true",
            "\"recipientAccountId\"",
            "\"eventCategory\":\"Management\"",
            "\"tlsDetails\"",
        ];
        let mut at = 0;
        for key in order {
            let pos = ev.json[at..].find(key).map(|p| p + at);
            assert!(
                pos.is_some(),
                "{key} missing or out of order in {}",
                ev.json
            );
            at = pos.unwrap_or(at);
        }
        assert_eq!(ev.region, "us-east-1");
        Ok(())
    }

    #[test]
    fn service_calls_have_no_tls_and_share_an_event_id() -> Result<(), serde_json::Error> {
        let id = Identity {
            kind: Some("AWSService"),
            invoked_by: Some("lambda.amazonaws.com".into()),
            ..Identity::default()
        };
        let actor = Actor {
            identity: &id,
            ip: "lambda.amazonaws.com",
            ua: "lambda.amazonaws.com",
            console: false,
            vpce: None,
        };
        let call = Call::new("sts.amazonaws.com", "AssumeRole", true, Value::Null);
        let mut rng = stream(1, "t", 0);
        let ev = render("123456789012", 0, "us-east-1", &actor, &call, &mut rng)?;
        assert!(!ev.json.contains("tlsDetails"), "{}", ev.json);
        assert!(ev.json.contains("sharedEventID"), "{}", ev.json);
        Ok(())
    }
}
