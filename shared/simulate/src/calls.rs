//! Calls whose records have a special shape: sign-ins, STS credential exchanges, S3
//! object access (data events), service events, and the error spellings of failed
//! calls.

use super::catalog::{S3, SIGNIN, STS, short};
use super::ids::{SimRng, alnum, hex, iam_id};
use super::record::{Call, EventType};
use super::timefmt::console_date;
use rand::Rng;
use serde_json::{Value, json};

/// A `ConsoleLogin` sign-in. Failures keep their response element and carry only
/// an error message (no code), as CloudTrail writes them.
pub(crate) fn console_login(ok: bool, mfa: bool, login_to: &str) -> Call {
    let mut call = Call::new(SIGNIN, "ConsoleLogin", false, Value::Null)
        .respond(json!({"ConsoleLogin": if ok { "Success" } else { "Failure" }}));
    call.event_type = EventType::ConsoleSignIn;
    call.extra = Some(
        json!({"LoginTo": login_to, "MobileVersion": "No", "MFAUsed": if mfa && ok { "Yes" } else { "No" }}),
    );
    if !ok {
        call.error = Some((String::new(), "Failed authentication".to_owned()));
    }
    call
}

/// The console landing page a sign-in goes to.
pub(crate) fn login_to(rng: &mut SimRng, region: &str) -> String {
    match rng.random_range(0..4) {
        0 => format!("https://{region}.console.aws.amazon.com/ec2/home?region={region}&state=hashArgs%23Instances&isauthcode=true"),
        1 => "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1".to_owned(),
        2 => format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}&state=hashArgs%23&isauthcode=true"),
        _ => "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true".to_owned(),
    }
}

fn credentials(rng: &mut SimRng, t: i64, secs: i64) -> (String, Value) {
    let key = iam_id(rng, "ASIA");
    // Real tokens run to hundreds of characters; a shorter one keeps files realistic enough.
    let token = format!("IQoJb3JpZ2luX2VjE{}", alnum(rng, 180));
    let v =
        json!({"accessKeyId": key, "sessionToken": token, "expiration": console_date(t + secs)});
    (key, v)
}

/// `sts:AssumeRole` of `role_arn` (in `account`) as session `session`.
pub(crate) fn assume_role(
    rng: &mut SimRng,
    account: &str,
    role_arn: &str,
    session: &str,
    external_id: Option<&str>,
    t: i64,
) -> Call {
    let mut params =
        json!({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600});
    if let (Some(x), Some(m)) = (external_id, params.as_object_mut()) {
        m.insert("externalId".to_owned(), json!(x));
    }
    let role = role_arn.rsplit('/').next().unwrap_or_default();
    let (_, creds) = credentials(rng, t, 3600);
    let aroa = iam_id(rng, "AROA");
    Call::new(STS, "AssumeRole", true, params)
        .respond(json!({"credentials": creds, "assumedRoleUser": {"assumedRoleId": format!("{aroa}:{session}"), "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")}}))
        .resources(json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}]))
}

/// `sts:AssumeRoleWithSAML` by an Identity Center user into a permission-set role.
pub(crate) fn assume_role_with_saml(
    rng: &mut SimRng,
    account: &str,
    role_arn: &str,
    provider: &str,
    user: &str,
    t: i64,
) -> Call {
    let (_, creds) = credentials(rng, t, 43_200);
    let role = role_arn.rsplit('/').next().unwrap_or_default();
    let aroa = iam_id(rng, "AROA");
    Call::new(STS, "AssumeRoleWithSAML", true, json!({"sAMLAssertionID": format!("_{}", hex(rng, 32)), "roleSessionName": user, "principalTags": {}, "durationSeconds": 43_200, "roleArn": role_arn, "principalArn": format!("arn:aws:iam::{account}:saml-provider/{provider}")}))
        .respond(json!({"credentials": creds, "assumedRoleUser": {"assumedRoleId": format!("{aroa}:{user}"), "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{user}")}, "subject": user, "subjectType": "persistent", "issuer": "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/NDAwMDAwMDAwMDAw", "audience": "https://signin.aws.amazon.com/saml", "nameQualifier": "SJ3wFw7lEiJz1+0mU0MfHL1aJ8A="}))
        .resources(json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}, {"accountId": account, "type": "AWS::IAM::SAMLProvider", "ARN": format!("arn:aws:iam::{account}:saml-provider/{provider}")}]))
}

/// `sts:AssumeRoleWithWebIdentity` by a GitHub Actions workflow.
pub(crate) fn assume_role_with_web_identity(
    rng: &mut SimRng,
    account: &str,
    role_arn: &str,
    subject: &str,
    t: i64,
) -> Call {
    let (_, creds) = credentials(rng, t, 3600);
    let role = role_arn.rsplit('/').next().unwrap_or_default();
    let aroa = iam_id(rng, "AROA");
    Call::new(STS, "AssumeRoleWithWebIdentity", true, json!({"roleArn": role_arn, "roleSessionName": "GitHubActions", "durationSeconds": 3600}))
        .respond(json!({"credentials": creds, "subjectFromWebIdentityToken": subject, "assumedRoleUser": {"assumedRoleId": format!("{aroa}:GitHubActions"), "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/GitHubActions")}, "provider": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"), "audience": "sts.amazonaws.com"}))
        .resources(json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}]))
}

/// `sts:GetFederationToken` naming a federated user.
pub(crate) fn get_federation_token(rng: &mut SimRng, account: &str, name: &str, t: i64) -> Call {
    let (_, creds) = credentials(rng, t, 43_200);
    Call::new(STS, "GetFederationToken", true, json!({"name": name, "durationSeconds": 43_200, "policyArns": [{"arn": format!("arn:aws:iam::{account}:policy/portal-read-exports")}]}))
        .respond(json!({"credentials": creds, "federatedUser": {"federatedUserId": format!("{account}:{name}"), "arn": format!("arn:aws:sts::{account}:federated-user/{name}")}, "packedPolicySize": 9}))
}

/// An S3 object-level data event on `bucket`.
pub(crate) fn s3_object(
    rng: &mut SimRng,
    account: &str,
    region: &str,
    name: &'static str,
    bucket: &str,
    key: &str,
    bytes: u64,
) -> Call {
    let read = name == "GetObject" || name == "HeadObject";
    let (bytes_in, bytes_out) = if read { (0, bytes) } else { (bytes, 0) };
    let mut call = Call::new(S3, name, read, json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key}))
        .resources(json!([{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")}, {"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]));
    if !read {
        call.response = json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": format!("arn:aws:kms:{region}:{account}:key/{}", hex(rng, 8))});
    }
    call.data = true;
    call.extra = Some(
        json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": bytes_in, "SSEApplied": "SSE_KMS", "AuthenticationMethod": "AuthHeader", "x-amz-id-2": format!("{}=", alnum(rng, 75)), "bytesTransferredOut": bytes_out}),
    );
    call
}

/// An `AwsServiceEvent` record of `source`.
pub(crate) fn service_event(
    source: &'static str,
    name: &'static str,
    resources: Value,
    details: Option<Value>,
) -> Call {
    let mut call = Call::new(source, name, false, Value::Null).resources(resources);
    call.event_type = EventType::ServiceEvent;
    call.service_details = details;
    call
}

/// The error code and message a denied call gets from this service.
pub(crate) fn access_denied(source: &str, name: &str, arn: &str) -> (String, String) {
    let action = format!(
        "{}:{}",
        short(source),
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v')
    );
    let because = format!(
        "User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
    );
    match short(source) {
        "ec2" => (
            "Client.UnauthorizedOperation".to_owned(),
            format!("You are not authorized to perform this operation. {because}"),
        ),
        "s3" => ("AccessDenied".to_owned(), "Access Denied".to_owned()),
        "iam"
        | "sts"
        | "cloudtrail"
        | "rds"
        | "autoscaling"
        | "elasticloadbalancing"
        | "monitoring"
        | "sns"
        | "sqs" => ("AccessDenied".to_owned(), because),
        _ => ("AccessDeniedException".to_owned(), because),
    }
}

/// A benign failure this call plausibly gets: not found, throttled, conflicting.
pub(crate) fn benign_failure(call: &Call, rng: &mut SimRng) -> (String, String) {
    let s = |a: &str, b: String| (a.to_owned(), b);
    match (short(call.source), call.name) {
        ("s3", "GetBucketPolicy") => s(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist".into(),
        ),
        ("s3", "GetBucketTagging") => s("NoSuchTagSet", "The TagSet does not exist".into()),
        ("s3", _) => s("NoSuchBucket", "The specified bucket does not exist".into()),
        ("iam", n) if n.starts_with("Get") => s(
            "NoSuchEntity",
            format!(
                "The {} with name {} cannot be found.",
                if n.contains("Role") { "role" } else { "user" },
                call.params
                    .as_object()
                    .and_then(|m| m.values().next())
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
            ),
        ),
        ("ec2", _) if rng.random_bool(0.5) => s(
            "Client.RequestLimitExceeded",
            "Request limit exceeded.".into(),
        ),
        ("ec2", _) => s(
            "Client.InvalidInstanceID.NotFound",
            format!("The instance ID 'i-0{}' does not exist", hex(rng, 16)),
        ),
        ("ssm", "GetParameter") => s("ParameterNotFound", String::new()),
        ("secretsmanager", _) => s(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.".into(),
        ),
        ("lambda", _) => s("ResourceNotFoundException", "Function not found".into()),
        ("dynamodb", _) => s(
            "ResourceNotFoundException",
            "Requested resource not found".into(),
        ),
        ("kms", _) => s("NotFoundException", "Alias is not found.".into()),
        ("monitoring", _) | ("tagging", _) | ("sqs", _) => {
            s("ThrottlingException", "Rate exceeded".into())
        }
        _ => s("ThrottlingException", "Rate exceeded".into()),
    }
}
