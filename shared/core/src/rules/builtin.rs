//! The built-in CloudTrail rule pack: one entry per dangerous action, each with an
//! id, a title, a base severity score and its MITRE ATT&CK technique (checked
//! against ATT&CK v16.1). A rule fires on the event alone; the scorer combines it
//! with the model's view. Each rule has a matching and a non-matching real-shaped
//! record under `rules/tests/<rule id>/` (see [`super::check`]). Threshold rules
//! (brute force, harvesting, mass deletion) are Sigma correlation rules in
//! `rules/sigma/builtin/`.

use crate::sources::cloudtrail::IdentityType;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// The ATT&CK version the techniques of this pack were checked against.
pub const ATTACK_VERSION: &str = "16.1";

/// What a rule sees of an event.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// `eventSource`.
    pub source: &'a str,
    /// `eventName`.
    pub name: &'a str,
    /// Identity type of the caller.
    pub identity: IdentityType,
    /// IAM user name of the caller, when it is an IAM user.
    pub caller_user: Option<&'a str>,
    /// Raw `requestParameters` JSON.
    pub request: Option<&'a str>,
    /// Raw `responseElements` JSON.
    pub response: Option<&'a str>,
    /// Raw `additionalEventData` JSON.
    pub additional: Option<&'a str>,
    /// The account the event belongs to.
    pub account: &'a str,
}

/// One rule of the pack.
#[derive(Debug)]
pub struct RuleDef {
    /// Stable id, e.g. `ct.cloudtrail.stop_logging`.
    pub id: &'static str,
    /// Short title for alerts.
    pub title: &'static str,
    /// MITRE ATT&CK technique id.
    pub technique: &'static str,
    /// The ATT&CK version `technique` was checked against.
    pub attack_version: &'static str,
    /// Severity score (1.0–10.0) when the call succeeded.
    pub severity: f64,
    /// The `eventName`s it looks at (empty: looks at every event).
    pub names: &'static [&'static str],
    /// Whether the event matches, given that its name is one of `names`.
    pub matches: fn(&RuleInput<'_>) -> bool,
}

fn always(_: &RuleInput<'_>) -> bool {
    true
}

fn req_has(i: &RuleInput<'_>, needles: &[&str]) -> bool {
    i.request
        .is_some_and(|r| needles.iter().any(|n| r.contains(n)))
}

fn targets_other_user(i: &RuleInput<'_>) -> bool {
    let Some(target) = i.request.and_then(|r| json_str_field(r, "userName")) else {
        return false;
    };
    i.caller_user != Some(target)
}

/// The string value of the first `"field":"value"` in a compact JSON text.
fn json_str_field<'a>(json: &'a str, field: &str) -> Option<&'a str> {
    let key = format!("\"{field}\"");
    let at = json.find(&key)? + key.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

fn selectors_weakened(i: &RuleInput<'_>) -> bool {
    req_has(
        i,
        &[
            "\"includeManagementEvents\":false",
            "\"IncludeManagementEvents\":false",
            "\"readWriteType\":\"ReadOnly\"",
            "\"ReadWriteType\":\"ReadOnly\"",
            "\"readOnly\"",
        ],
    )
}

fn detector_disabled(i: &RuleInput<'_>) -> bool {
    i.name != "UpdateDetector" || req_has(i, &["\"enable\":false"])
}

fn admin_policy(i: &RuleInput<'_>) -> bool {
    req_has(
        i,
        &[
            "AdministratorAccess",
            "\"Action\":\"*\"",
            "\\\"Action\\\":\\\"*\\\"",
            "IAMFullAccess",
        ],
    )
}

fn public_principal(i: &RuleInput<'_>) -> bool {
    req_has(
        i,
        &[
            "\"principal\":\"*\"",
            "\"Principal\":\"*\"",
            "\\\"Principal\\\":\\\"*\\\"",
            "\\\"AWS\\\":\\\"*\\\"",
            "AllUsers",
            "AuthenticatedUsers",
        ],
    )
}

/// A resource policy with an `Allow` statement for everyone (`"*"` or
/// `{"AWS":"*"}`) and no condition, or an ACL granting AllUsers/AuthenticatedUsers.
fn public_policy(i: &RuleInput<'_>) -> bool {
    if req_has(i, &["AllUsers", "AuthenticatedUsers"]) {
        return true;
    }
    let Some(v) = i
        .request
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
    else {
        return false;
    };
    let policy = match v.get("bucketPolicy").or_else(|| v.get("policy")) {
        Some(serde_json::Value::String(s)) => {
            serde_json::from_str(s).unwrap_or(serde_json::Value::Null)
        }
        Some(other) => other.clone(),
        None => return public_principal(i),
    };
    let stmts = match policy.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    stmts.iter().any(|st| {
        let allow = st.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        let everyone = match st.get("Principal") {
            Some(serde_json::Value::String(p)) => p == "*",
            Some(p) => p.get("AWS").is_some_and(|a| {
                a == "*" || a.as_array().is_some_and(|l| l.iter().any(|x| x == "*"))
            }),
            None => false,
        };
        allow && everyone && st.get("Condition").is_none()
    })
}

/// A trust policy naming an account other than the event's own.
fn trust_other_account(i: &RuleInput<'_>) -> bool {
    let Some(r) = i.request else { return false };
    let mut rest = r;
    while let Some(at) = rest.find("arn:aws:iam::") {
        let acct: String = rest[at + 13..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if acct.len() == 12 && acct != i.account {
            return true;
        }
        rest = &rest[at + 13..];
    }
    false
}

fn trust_everyone(i: &RuleInput<'_>) -> bool {
    req_has(
        i,
        &[
            "\\\"AWS\\\":\\\"*\\\"",
            "\\\"Principal\\\":\\\"*\\\"",
            "\"AWS\":\"*\"",
            "\"Principal\":\"*\"",
        ],
    )
}

fn url_without_auth(i: &RuleInput<'_>) -> bool {
    req_has(i, &["\"authType\":\"NONE\"", "\"AuthType\":\"NONE\""])
}

fn shares_with_all(i: &RuleInput<'_>) -> bool {
    shares(i) && req_has(i, &["\"group\":\"all\"", "\"valuesToAdd\":[\"all\""])
}

/// A permission is added (EC2 `…Permission.add.items`, RDS `valuesToAdd`).
fn shares(i: &RuleInput<'_>) -> bool {
    req_has(i, &["\"add\":{\"items\":[{", "\"valuesToAdd\":[\""])
}

fn shares_with_account(i: &RuleInput<'_>) -> bool {
    shares(i) && !shares_with_all(i)
}

/// Ports that should never face the internet: remote administration and databases.
const ADMIN_PORTS: &[i64] = &[
    22, 23, 3389, 5900, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 11211, 2375,
];

/// An ingress rule from anywhere that covers all traffic or an administration or
/// database port (a world-open 443 in front of a load balancer is normal).
fn open_to_world(i: &RuleInput<'_>) -> bool {
    if !req_has(i, &["0.0.0.0/0", "::/0"]) {
        return false;
    }
    let Some(v) = i
        .request
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
    else {
        return true;
    };
    let items = v
        .pointer("/ipPermissions/items")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        // Flat form: {"cidrIp":"0.0.0.0/0","fromPort":22,"toPort":22,"ipProtocol":"tcp"}
        return risky_range(&v);
    }
    items.iter().any(|p| {
        let world = p.to_string();
        (world.contains("0.0.0.0/0") || world.contains("::/0")) && risky_range(p)
    })
}

fn risky_range(p: &serde_json::Value) -> bool {
    let proto = p.get("ipProtocol").and_then(|x| x.as_str()).unwrap_or("-1");
    if proto == "-1" || proto == "all" {
        return true;
    }
    let from = p
        .get("fromPort")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let to = p
        .get("toPort")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(65535);
    ADMIN_PORTS.iter().any(|port| (from..=to).contains(port))
}

fn public_access_block_off(i: &RuleInput<'_>) -> bool {
    i.name == "DeleteBucketPublicAccessBlock"
        || i.name == "DeleteAccountPublicAccessBlock"
        || req_has(
            i,
            &[
                "\"BlockPublicAcls\":false",
                "\"RestrictPublicBuckets\":false",
            ],
        )
}

fn console_without_mfa(i: &RuleInput<'_>) -> bool {
    i.identity == IdentityType::IamUser
        && i.additional
            .is_some_and(|a| a.contains("\"MFAUsed\":\"No\""))
        && i.response.is_some_and(|r| r.contains("\"Success\""))
}

fn root_identity(i: &RuleInput<'_>) -> bool {
    i.identity == IdentityType::Root
}

static RULES: &[RuleDef] = &[
    RuleDef {
        id: "ct.cloudtrail.stop_logging",
        title: "CloudTrail logging stopped",
        technique: "T1562.008",
        attack_version: ATTACK_VERSION,
        severity: 9.2,
        names: &["StopLogging"],
        matches: always,
    },
    RuleDef {
        id: "ct.cloudtrail.delete_trail",
        title: "CloudTrail trail deleted",
        technique: "T1562.008",
        attack_version: ATTACK_VERSION,
        severity: 9.2,
        names: &["DeleteTrail"],
        matches: always,
    },
    RuleDef {
        id: "ct.cloudtrail.selectors_weakened",
        title: "CloudTrail event selectors weakened",
        technique: "T1562.008",
        attack_version: ATTACK_VERSION,
        severity: 8.0,
        names: &["PutEventSelectors", "PutAdvancedEventSelectors"],
        matches: selectors_weakened,
    },
    RuleDef {
        id: "ct.guardduty.disabled",
        title: "GuardDuty detector deleted or disabled",
        technique: "T1562.001",
        attack_version: ATTACK_VERSION,
        severity: 8.8,
        names: &[
            "DeleteDetector",
            "UpdateDetector",
            "DisassociateFromMasterAccount",
            "DisassociateFromAdministratorAccount",
        ],
        matches: detector_disabled,
    },
    RuleDef {
        id: "ct.config.stopped",
        title: "AWS Config recording stopped or deleted",
        technique: "T1562.001",
        attack_version: ATTACK_VERSION,
        severity: 8.0,
        names: &[
            "StopConfigurationRecorder",
            "DeleteConfigurationRecorder",
            "DeleteDeliveryChannel",
        ],
        matches: always,
    },
    RuleDef {
        id: "ct.logs.flow_or_dns_logs_deleted",
        title: "VPC flow logs or DNS query logging removed",
        technique: "T1562.008",
        attack_version: ATTACK_VERSION,
        severity: 7.5,
        names: &[
            "DeleteFlowLogs",
            "DeleteResolverQueryLogConfig",
            "DisassociateResolverQueryLogConfig",
            "DeleteQueryLoggingConfig",
        ],
        matches: always,
    },
    RuleDef {
        id: "ct.iam.access_key_other_user",
        title: "Access key created for another user",
        technique: "T1098.001",
        attack_version: ATTACK_VERSION,
        severity: 7.5,
        names: &["CreateAccessKey"],
        matches: targets_other_user,
    },
    RuleDef {
        id: "ct.iam.login_profile_other_user",
        title: "Console password set for another user",
        technique: "T1098.001",
        attack_version: ATTACK_VERSION,
        severity: 7.5,
        names: &["CreateLoginProfile", "UpdateLoginProfile"],
        matches: targets_other_user,
    },
    RuleDef {
        id: "ct.iam.admin_policy_attached",
        title: "Administrator policy attached",
        technique: "T1098.003",
        attack_version: ATTACK_VERSION,
        severity: 7.5,
        names: &[
            "AttachUserPolicy",
            "AttachRolePolicy",
            "AttachGroupPolicy",
            "PutUserPolicy",
            "PutRolePolicy",
            "PutGroupPolicy",
        ],
        matches: admin_policy,
    },
    RuleDef {
        id: "ct.iam.role_trust_public",
        title: "Role trust policy opened to everyone",
        technique: "T1098.003",
        attack_version: ATTACK_VERSION,
        severity: 8.5,
        names: &["UpdateAssumeRolePolicy"],
        matches: trust_everyone,
    },
    RuleDef {
        id: "ct.iam.role_trust_other_account",
        title: "Role trust policy opened to another account",
        technique: "T1098.003",
        attack_version: ATTACK_VERSION,
        severity: 6.0,
        names: &["UpdateAssumeRolePolicy"],
        matches: trust_other_account,
    },
    RuleDef {
        id: "ct.iam.role_trust_changed",
        title: "Role trust policy changed",
        technique: "T1098.003",
        attack_version: ATTACK_VERSION,
        severity: 3.0,
        names: &["UpdateAssumeRolePolicy"],
        matches: always,
    },
    RuleDef {
        id: "ct.iam.user_created",
        title: "IAM user created",
        technique: "T1136.003",
        attack_version: ATTACK_VERSION,
        severity: 3.0,
        names: &["CreateUser"],
        matches: always,
    },
    RuleDef {
        id: "ct.iam.mfa_removed",
        title: "MFA device deactivated",
        technique: "T1556.006",
        attack_version: ATTACK_VERSION,
        severity: 6.0,
        names: &["DeactivateMFADevice", "DeleteVirtualMFADevice"],
        matches: always,
    },
    RuleDef {
        id: "ct.lambda.public",
        title: "Lambda function made public",
        technique: "T1546",
        attack_version: ATTACK_VERSION,
        severity: 8.0,
        names: &[
            "AddPermission20150331",
            "AddPermission20150331v2",
            "AddPermission",
        ],
        matches: public_principal,
    },
    RuleDef {
        id: "ct.lambda.url_without_auth",
        title: "Lambda function URL without authentication",
        technique: "T1546",
        attack_version: ATTACK_VERSION,
        severity: 7.0,
        names: &[
            "CreateFunctionUrlConfig20211031",
            "UpdateFunctionUrlConfig20211031",
            "CreateFunctionUrlConfig",
        ],
        matches: url_without_auth,
    },
    RuleDef {
        id: "ct.exposure.snapshot_public",
        title: "Snapshot or image made public",
        technique: "T1537",
        attack_version: ATTACK_VERSION,
        severity: 8.5,
        names: &[
            "ModifySnapshotAttribute",
            "ModifyImageAttribute",
            "ModifyDBSnapshotAttribute",
            "ModifyDBClusterSnapshotAttribute",
        ],
        matches: shares_with_all,
    },
    RuleDef {
        id: "ct.exposure.snapshot_shared",
        title: "Snapshot or image shared with another account",
        technique: "T1537",
        attack_version: ATTACK_VERSION,
        severity: 6.5,
        names: &[
            "ModifySnapshotAttribute",
            "ModifyImageAttribute",
            "ModifyDBSnapshotAttribute",
            "ModifyDBClusterSnapshotAttribute",
        ],
        matches: shares_with_account,
    },
    RuleDef {
        id: "ct.s3.bucket_public",
        title: "S3 bucket opened to the public",
        technique: "T1530",
        attack_version: ATTACK_VERSION,
        severity: 8.0,
        names: &["PutBucketAcl", "PutBucketPolicy", "PutObjectAcl"],
        matches: public_policy,
    },
    RuleDef {
        id: "ct.s3.public_access_block_removed",
        title: "S3 public access block removed",
        technique: "T1530",
        attack_version: ATTACK_VERSION,
        severity: 7.0,
        names: &[
            "DeleteBucketPublicAccessBlock",
            "DeleteAccountPublicAccessBlock",
            "PutBucketPublicAccessBlock",
            "PutAccountPublicAccessBlock",
        ],
        matches: public_access_block_off,
    },
    RuleDef {
        id: "ct.s3.replication_set",
        title: "S3 bucket replication configured",
        technique: "T1537",
        attack_version: ATTACK_VERSION,
        severity: 5.0,
        names: &["PutBucketReplication"],
        matches: always,
    },
    RuleDef {
        id: "ct.ec2.sg_open_world",
        title: "Security group opened to the world",
        technique: "T1562.007",
        attack_version: ATTACK_VERSION,
        severity: 6.5,
        names: &["AuthorizeSecurityGroupIngress"],
        matches: open_to_world,
    },
    RuleDef {
        id: "ct.kms.key_deletion",
        title: "KMS key scheduled for deletion or disabled",
        technique: "T1485",
        attack_version: ATTACK_VERSION,
        severity: 7.5,
        names: &["ScheduleKeyDeletion", "DisableKey"],
        matches: always,
    },
    RuleDef {
        id: "ct.org.leave",
        title: "Account left the AWS Organization",
        technique: "T1666",
        attack_version: ATTACK_VERSION,
        severity: 9.0,
        names: &["LeaveOrganization"],
        matches: always,
    },
    RuleDef {
        id: "ct.signin.console_no_mfa",
        title: "Console login without MFA",
        technique: "T1078.004",
        attack_version: ATTACK_VERSION,
        severity: 3.5,
        names: &["ConsoleLogin"],
        matches: console_without_mfa,
    },
    RuleDef {
        id: "ct.root.usage",
        title: "Root account used",
        technique: "T1078.004",
        attack_version: ATTACK_VERSION,
        severity: 8.0,
        names: &[],
        matches: root_identity,
    },
];

/// All built-in rules.
pub fn rules() -> &'static [RuleDef] {
    RULES
}

/// The rule with this index in [`rules`].
pub fn rule(index: u16) -> Option<&'static RuleDef> {
    RULES.get(usize::from(index))
}

struct Index {
    by_name: FxHashMap<&'static str, Vec<u16>>,
    any_name: Vec<u16>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_name: FxHashMap<&'static str, Vec<u16>> = FxHashMap::default();
        let mut any_name = Vec::new();
        for (i, r) in RULES.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            if r.names.is_empty() {
                any_name.push(i);
            }
            for n in r.names {
                by_name.entry(n).or_default().push(i);
            }
        }
        Index { by_name, any_name }
    })
}

/// The index of the most severe rule that matches, if any.
pub fn evaluate(input: &RuleInput<'_>) -> Option<u16> {
    let idx = index();
    let named = idx
        .by_name
        .get(input.name)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    named
        .iter()
        .chain(idx.any_name.iter())
        .copied()
        .filter(|&i| rule(i).is_some_and(|r| (r.matches)(input)))
        .max_by(|&a, &b| {
            let sa = rule(a).map_or(0.0, |r| r.severity);
            let sb = rule(b).map_or(0.0, |r| r.severity);
            sa.total_cmp(&sb)
        })
}

/// Ids of every built-in rule that matches one CloudTrail record (not only the
/// most severe, as the parser keeps): for rule tests and `rules test`.
pub fn matching(record_json: &[u8]) -> Result<Vec<&'static str>, serde_json::Error> {
    // Rules read raw request JSON as CloudTrail writes it: compact.
    let value: serde_json::Value = serde_json::from_slice(record_json)?;
    let compact = serde_json::to_vec(&value)?;
    let r = crate::sources::cloudtrail::record::parse(&compact)?;
    let id = r.user_identity.as_ref();
    let identity = IdentityType::parse(id.and_then(|i| i.kind.as_deref()));
    let input = RuleInput {
        source: &r.event_source,
        name: &r.event_name,
        identity,
        caller_user: match identity {
            IdentityType::IamUser => id.and_then(|i| i.user_name.as_deref()),
            _ => None,
        },
        request: r.request_parameters.map(|v| v.get()),
        response: r.response_elements.map(|v| v.get()),
        additional: r.additional_event_data.map(|v| v.get()),
        account: r
            .recipient_account_id
            .as_deref()
            .or_else(|| id.and_then(|i| i.account_id.as_deref()))
            .unwrap_or(""),
    };
    Ok(RULES
        .iter()
        .filter(|rule| rule.names.is_empty() || rule.names.contains(&input.name))
        .filter(|rule| (rule.matches)(&input))
        .map(|rule| rule.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(name: &'a str, request: &'a str) -> RuleInput<'a> {
        RuleInput {
            source: "",
            name,
            identity: IdentityType::AssumedRole,
            caller_user: None,
            request: Some(request),
            response: None,
            additional: None,
            account: "123456789012",
        }
    }

    fn fired(name: &str, request: &str) -> Option<&'static str> {
        evaluate(&input(name, request)).and_then(rule).map(|r| r.id)
    }

    #[test]
    fn each_rule_matches_its_attack_and_not_its_look_alike() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "StopLogging",
                r#"{"name":"main"}"#,
                Some("ct.cloudtrail.stop_logging"),
            ),
            (
                "PutEventSelectors",
                r#"{"eventSelectors":[{"includeManagementEvents":false}]}"#,
                Some("ct.cloudtrail.selectors_weakened"),
            ),
            (
                "PutEventSelectors",
                r#"{"eventSelectors":[{"includeManagementEvents":true,"readWriteType":"All"}]}"#,
                None,
            ),
            (
                "UpdateDetector",
                r#"{"detectorId":"d","enable":false}"#,
                Some("ct.guardduty.disabled"),
            ),
            (
                "UpdateDetector",
                r#"{"detectorId":"d","enable":true}"#,
                None,
            ),
            (
                "AttachUserPolicy",
                r#"{"userName":"x","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#,
                Some("ct.iam.admin_policy_attached"),
            ),
            (
                "AttachUserPolicy",
                r#"{"userName":"x","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}"#,
                None,
            ),
            (
                "UpdateAssumeRolePolicy",
                r#"{"policyDocument":"{\"Statement\":[{\"Principal\":{\"AWS\":\"arn:aws:iam::999999999999:root\"}}]}"}"#,
                Some("ct.iam.role_trust_other_account"),
            ),
            (
                "UpdateAssumeRolePolicy",
                r#"{"policyDocument":"{\"Statement\":[{\"Principal\":{\"AWS\":\"*\"}}]}"}"#,
                Some("ct.iam.role_trust_public"),
            ),
            (
                "UpdateAssumeRolePolicy",
                r#"{"policyDocument":"{\"Statement\":[{\"Principal\":{\"Service\":\"ec2.amazonaws.com\"}}]}"}"#,
                Some("ct.iam.role_trust_changed"),
            ),
            (
                "PutBucketPolicy",
                r#"{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}}"#,
                Some("ct.s3.bucket_public"),
            ),
            (
                "PutBucketPolicy",
                r#"{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}}"#,
                None,
            ),
            (
                "PutBucketAcl",
                r#"{"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers"}}]}}}"#,
                Some("ct.s3.bucket_public"),
            ),
            (
                "ModifySnapshotAttribute",
                r#"{"snapshotId":"s","createVolumePermission":{"add":{"items":[{"group":"all"}]}}}"#,
                Some("ct.exposure.snapshot_public"),
            ),
            (
                "ModifySnapshotAttribute",
                r#"{"snapshotId":"s","createVolumePermission":{"add":{"items":[{"userId":"999999999999"}]}}}"#,
                Some("ct.exposure.snapshot_shared"),
            ),
            (
                "ModifySnapshotAttribute",
                r#"{"snapshotId":"s","createVolumePermission":{"remove":{"items":[{"userId":"999999999999"}]}}}"#,
                None,
            ),
            (
                "ModifyDBSnapshotAttribute",
                r#"{"dBSnapshotIdentifier":"s","attributeName":"restore","valuesToAdd":["all"]}"#,
                Some("ct.exposure.snapshot_public"),
            ),
            (
                "AuthorizeSecurityGroupIngress",
                r#"{"groupId":"sg","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}"#,
                Some("ct.ec2.sg_open_world"),
            ),
            (
                "AuthorizeSecurityGroupIngress",
                r#"{"groupId":"sg","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}"#,
                None,
            ),
            (
                "AuthorizeSecurityGroupIngress",
                r#"{"groupId":"sg","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}"#,
                None,
            ),
            (
                "AddPermission20150331v2",
                r#"{"functionName":"f","principal":"*","action":"lambda:InvokeFunction"}"#,
                Some("ct.lambda.public"),
            ),
            (
                "AddPermission20150331v2",
                r#"{"functionName":"f","principal":"s3.amazonaws.com","action":"lambda:InvokeFunction"}"#,
                None,
            ),
            (
                "CreateFunctionUrlConfig20211031",
                r#"{"functionName":"f","authType":"NONE"}"#,
                Some("ct.lambda.url_without_auth"),
            ),
            (
                "ScheduleKeyDeletion",
                r#"{"keyId":"k","pendingWindowInDays":7}"#,
                Some("ct.kms.key_deletion"),
            ),
            ("LeaveOrganization", "null", Some("ct.org.leave")),
            ("DescribeInstances", "{}", None),
        ];
        for (name, request, want) in cases {
            assert_eq!(fired(name, request), *want, "{name} {request}");
        }
    }

    #[test]
    fn access_keys_for_oneself_are_not_for_another_user() {
        let mut i = input("CreateAccessKey", r#"{"userName":"bob"}"#);
        i.identity = IdentityType::IamUser;
        i.caller_user = Some("bob");
        assert_eq!(evaluate(&i), None);
        i.caller_user = Some("alice");
        assert_eq!(
            evaluate(&i).and_then(rule).map(|r| r.id),
            Some("ct.iam.access_key_other_user")
        );
    }

    #[test]
    fn root_is_flagged_whatever_it_calls() {
        let mut i = input("ListBuckets", "{}");
        i.identity = IdentityType::Root;
        assert_eq!(
            evaluate(&i).and_then(rule).map(|r| r.id),
            Some("ct.root.usage")
        );
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules().len());
    }
}
