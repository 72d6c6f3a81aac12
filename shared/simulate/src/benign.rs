//! Hard negatives: benign activity that matches attack patterns call for call (IAM
//! user and key creation, trust-policy edits, account-wide enumeration, snapshot
//! sharing) but comes from the usual places, people, hours and pipelines.

use super::agents::PY_LAMBDA;
use super::calls::{access_denied, console_login, login_to};
use super::catalog::{EC2, IAM, KMS, LAMBDA, LOGS, RDS, S3, find};
use super::ci::terraform;
use super::identity::iam_user;
use super::ids::{hex, iam_id, pick, uuid4};
use super::normal::Who;
use super::params::build;
use super::people::OFFICE_US;
use super::record::{Call, Identity};
use super::scenarios::Play;
use super::timefmt::{console_date, iso};
use super::world::DR_ACCOUNT;
use rand::Rng;
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

const AUDIT_UA: &str = "Boto3/1.34.64 md/Botocore#1.34.64 ua/2.0 os/macos#23.3.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.64 prowler/3.15.0";
const NEW_ADMIN_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

/// A newly hired administrator's first day: MFA set up, then users, keys, roles and
/// group memberships for the team, from the office, in the console.
pub(crate) fn new_admin(play: &mut Play<'_, '_>) -> Res {
    let acct = play.world.account.clone();
    let name = "kevin.obrien";
    let aida = iam_id(play.rng, "AIDA");
    let ip = OFFICE_US[0];
    let mut login = iam_user(&acct, name, &aida, "", None);
    login.access_key_id = None;
    let to = login_to(play.rng, "us-east-1");
    play.step(
        &Who {
            identity: &login,
            ip,
            ua: NEW_ADMIN_BROWSER,
            console: false,
            vpce: None,
        },
        &console_login(true, true, &to),
        10..60,
    )?;
    let key = iam_id(play.rng, "ASIA");
    let created = iso(play.t - 30);
    let id = iam_user(&acct, name, &aida, &key, Some((&created, true)));
    let c = Who {
        identity: &id,
        ip: "AWS Internal",
        ua: "AWS Internal",
        console: true,
        vpce: None,
    };
    let w = Who {
        identity: &id,
        ip,
        ua: "AWS Internal",
        console: true,
        vpce: None,
    };
    let mfa = format!("arn:aws:iam::{acct}:mfa/{name}");
    for call in [
        Call::new(IAM, "GetAccountSummary", true, Value::Null),
        Call::new(IAM, "ListUsers", true, json!({"maxItems": 1000})),
        Call::new(IAM, "ListMFADevices", true, json!({"userName": name})),
    ] {
        play.step(&c, &call, 5..40)?;
    }
    play.step(
        &w,
        &Call::new(
            IAM,
            "CreateVirtualMFADevice",
            false,
            json!({"virtualMFADeviceName": name, "path": "/"}),
        )
        .respond(json!({"virtualMFADevice": {"serialNumber": mfa}})),
        20..90,
    )?;
    play.step(
        &w,
        &Call::new(
            IAM,
            "EnableMFADevice",
            false,
            json!({"userName": name, "serialNumber": mfa}),
        ),
        60..300,
    )?;
    let svc = "svc-analytics-etl";
    let colleague = "lucy.fernandez";
    let steps = [
        Call::new(IAM, "ListRoles", true, json!({"maxItems": 1000})),
        Call::new(IAM, "ListPolicies", true, json!({"scope": "All", "onlyAttached": false, "maxItems": 1000})),
        Call::new(IAM, "CreateUser", false, json!({"userName": svc, "tags": [{"key": "team", "value": "data"}]})).respond(json!({"user": {"path": "/", "userName": svc, "userId": iam_id(play.rng, "AIDA"), "arn": format!("arn:aws:iam::{acct}:user/{svc}"), "createDate": console_date(play.t + 400)}})),
        Call::new(IAM, "AttachUserPolicy", false, json!({"userName": svc, "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})),
        Call::new(IAM, "CreateAccessKey", false, json!({"userName": svc})).respond(json!({"accessKey": {"userName": svc, "accessKeyId": iam_id(play.rng, "AKIA"), "status": "Active", "createDate": console_date(play.t + 500)}})),
        Call::new(IAM, "CreateUser", false, json!({"userName": colleague})).respond(json!({"user": {"path": "/", "userName": colleague, "userId": iam_id(play.rng, "AIDA"), "arn": format!("arn:aws:iam::{acct}:user/{colleague}"), "createDate": console_date(play.t + 700)}})),
        Call::new(IAM, "CreateLoginProfile", false, json!({"userName": colleague, "passwordResetRequired": true})).respond(json!({"loginProfile": {"userName": colleague, "createDate": console_date(play.t + 800), "passwordResetRequired": true}})),
        Call::new(IAM, "AddUserToGroup", false, json!({"groupName": "developers", "userName": colleague})),
        Call::new(IAM, "CreateRole", false, json!({"roleName": "analytics-etl-lambda", "assumeRolePolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"})).respond(json!({"role": {"path": "/", "roleName": "analytics-etl-lambda", "roleId": iam_id(play.rng, "AROA"), "arn": format!("arn:aws:iam::{acct}:role/analytics-etl-lambda"), "createDate": console_date(play.t + 900)}})),
        Call::new(IAM, "AttachRolePolicy", false, json!({"roleName": "analytics-etl-lambda", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})),
    ];
    for call in &steps {
        let who = if call.read_only { &c } else { &w };
        play.step(who, call, 20..180)?;
    }
    Ok(())
}

/// A big Terraform apply from the CI role: new roles and policies (a trust-policy
/// update among them), security groups (one open to the world on 443 for a load
/// balancer), functions with service permissions, buckets with policies, keys, logs.
pub(crate) fn terraform_apply(play: &mut Play<'_, '_>) -> Res {
    let world = play.world;
    let Some(p) = world
        .principals
        .iter()
        .find(|p| p.name == "github-actions-terraform")
    else {
        return Ok(());
    };
    let acct = &world.account;
    let region = play.region.clone();
    let mut changes = Vec::new();
    let n = play.rng.random_range(25..45);
    for i in 0..n {
        let svc = format!("svc{i:02}-{}", hex(play.rng, 4));
        let role = format!("{svc}-role");
        let trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";
        let sg = format!("sg-0{}", hex(play.rng, 16));
        changes.push(Call::new(IAM, "CreateRole", false, json!({"roleName": role, "assumeRolePolicyDocument": trust, "tags": [{"key": "managed-by", "value": "terraform"}]})).respond(json!({"role": {"path": "/", "roleName": role, "roleId": iam_id(play.rng, "AROA"), "arn": world.role_arn(&role)}})));
        changes.push(Call::new(IAM, "PutRolePolicy", false, json!({"roleName": role, "policyName": "access", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:GetItem\",\"dynamodb:PutItem\"],\"Resource\":\"*\"}]}"})));
        changes.push(Call::new(IAM, "AttachRolePolicy", false, json!({"roleName": role, "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})));
        if i % 5 == 0 {
            let own = format!(
                "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{DR_ACCOUNT}:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}"
            );
            changes.push(Call::new(
                IAM,
                "UpdateAssumeRolePolicy",
                false,
                json!({"roleName": role, "policyDocument": own}),
            ));
        }
        changes.push(Call::new(EC2, "CreateSecurityGroup", false, json!({"groupName": svc, "groupDescription": "managed by terraform", "vpcId": world.res.vpcs.first()})).respond(json!({"requestId": uuid4(play.rng), "_return": true, "groupId": sg})));
        let cidr = if i % 7 == 0 {
            "0.0.0.0/0"
        } else {
            "10.0.0.0/16"
        };
        changes.push(Call::new(EC2, "AuthorizeSecurityGroupIngress", false, json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": cidr}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}})).respond(json!({"requestId": uuid4(play.rng), "_return": true})));
        changes.push(Call::new(
            LOGS,
            "CreateLogGroup",
            false,
            json!({"logGroupName": format!("/aws/lambda/{svc}")}),
        ));
        changes.push(Call::new(
            LOGS,
            "PutRetentionPolicy",
            false,
            json!({"logGroupName": format!("/aws/lambda/{svc}"), "retentionInDays": 30}),
        ));
        changes.push(Call::new(LAMBDA, "CreateFunction20150331", false, json!({"functionName": svc, "runtime": "nodejs20.x", "role": world.role_arn(&role), "handler": "index.handler", "timeout": 30, "memorySize": 256, "publish": false})).respond(json!({"functionName": svc, "functionArn": world.function_arn(&region, &svc), "state": "Pending"})));
        changes.push(Call::new(LAMBDA, "AddPermission20150331v2", false, json!({"functionName": svc, "statementId": "AllowEventBridge", "action": "lambda:InvokeFunction", "principal": "events.amazonaws.com", "sourceArn": format!("arn:aws:events:{region}:{acct}:rule/{svc}-schedule")})));
        if i % 4 == 0 {
            let bucket = format!("acme-{svc}-data");
            let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
            changes.push(Call::new(S3, "CreateBucket", false, json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com")})));
            changes.push(Call::new(S3, "PutBucketPolicy", false, json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "bucketPolicy": policy, "policy": ""})));
            changes.push(Call::new(KMS, "CreateKey", false, json!({"description": format!("{svc} data"), "keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT"})).respond(json!({"keyMetadata": {"keyId": uuid4(play.rng), "keyState": "Enabled", "creationDate": console_date(play.t)}})));
        }
    }
    let t = play.t;
    play.t = terraform(world, p, 1, t, play.rng, play.sink, Some(changes))?;
    Ok(())
}

/// The security team's quarterly audit: a read-only sweep of IAM and of every
/// service in every region, a few calls denied, from the office.
pub(crate) fn security_audit(play: &mut Play<'_, '_>) -> Res {
    let ip = OFFICE_US[1];
    let id = play.sso_sign_in("ivan.petrov", ip, NEW_ADMIN_BROWSER)?;
    let w = Who {
        identity: &id,
        ip,
        ua: AUDIT_UA,
        console: false,
        vpce: None,
    };
    let arn = id.arn.clone().unwrap_or_default();
    play.step(
        &w,
        &Call::new(super::catalog::STS, "GetCallerIdentity", true, Value::Null),
        1..3,
    )?;
    for i in 0..3 {
        let marker = if i == 0 {
            json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]})
        } else {
            json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"], "marker": hex(play.rng, 40)})
        };
        play.step(
            &w,
            &Call::new(IAM, "GetAccountAuthorizationDetails", true, marker),
            2..6,
        )?;
    }
    for call in [
        Call::new(IAM, "GenerateCredentialReport", true, Value::Null),
        Call::new(IAM, "GetCredentialReport", true, Value::Null),
        Call::new(IAM, "GetAccountPasswordPolicy", true, Value::Null),
        Call::new(IAM, "GetAccountSummary", true, Value::Null),
        Call::new(IAM, "ListUsers", true, Value::Null),
        Call::new(IAM, "ListRoles", true, Value::Null),
        Call::new(IAM, "ListVirtualMFADevices", true, Value::Null),
    ] {
        play.step(&w, &call, 0..3)?;
    }
    let users: Vec<String> = play
        .world
        .principals
        .iter()
        .filter_map(|p| p.iam_user.clone())
        .collect();
    for u in &users {
        play.step(
            &w,
            &Call::new(IAM, "ListAccessKeys", true, json!({"userName": u})),
            0..2,
        )?;
        play.step(
            &w,
            &Call::new(IAM, "ListMFADevices", true, json!({"userName": u})),
            0..2,
        )?;
    }
    let per_region = [
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
        "ec2:DescribeVpcs",
        "ec2:DescribeImages",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "guardduty:ListDetectors",
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "kms:ListKeys",
        "lambda:ListFunctions20150331",
        "rds:DescribeDBInstances",
        "secretsmanager:ListSecrets",
        "ssm:DescribeParameters",
        "logs:DescribeMetricFilters",
        "monitoring:DescribeAlarms",
        "sns:ListTopics",
    ];
    let regions = play.world.regions.clone();
    for region in &regions {
        for key in per_region {
            let Some(api) = find(key) else { continue };
            let t = play.t;
            let mut call = build(play.world, region, api, t, play.rng);
            if play.rng.random_bool(0.03) {
                let (code, msg) = access_denied(call.source, call.name, &arn);
                call = call.fail(&code, msg);
            }
            play.step_in(region, &w, &call, 0..2)?;
        }
    }
    let buckets: Vec<String> = play
        .world
        .res
        .buckets
        .iter()
        .chain([&play.world.res.data_bucket])
        .cloned()
        .collect();
    for b in &buckets {
        for sub in [
            "acl",
            "policy",
            "encryption",
            "logging",
            "publicAccessBlock",
            "versioning",
        ] {
            let name = match sub {
                "acl" => "GetBucketAcl",
                "policy" => "GetBucketPolicy",
                "encryption" => "GetBucketEncryption",
                "logging" => "GetBucketLogging",
                "publicAccessBlock" => "GetBucketPublicAccessBlock",
                _ => "GetBucketVersioning",
            };
            let region = play.region.clone();
            let call = Call::new(
                S3,
                name,
                true,
                json!({"bucketName": b, "Host": format!("{b}.s3.{region}.amazonaws.com"), sub: ""}),
            );
            play.step(&w, &call, 0..2)?;
        }
    }
    Ok(())
}

/// The monthly DR drill: the backup role shares the latest snapshots (and the key
/// that encrypts them) with the organisation's own DR account during a change window.
pub(crate) fn dr_snapshot_share(play: &mut Play<'_, '_>) -> Res {
    let id: Identity = play.role_session("backup-automation");
    let ips = play
        .world
        .principals
        .iter()
        .find(|p| p.name == "backup-automation")
        .map(|p| p.ips.clone())
        .unwrap_or_default();
    let ip = pick(play.rng, &ips).cloned().unwrap_or_default();
    let w = Who {
        identity: &id,
        ip: &ip,
        ua: PY_LAMBDA,
        console: false,
        vpce: None,
    };
    let res = play.world.res.clone();
    let region = play.region.clone();
    play.step(&w, &Call::new(EC2, "DescribeSnapshots", true, json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {"items": [{"name": "tag:backup", "valueSet": {"items": [{"value": "nightly"}]}}]}})), 1..4)?;
    let key = res
        .keys
        .first()
        .map(|k| play.world.key_arn(&region, k))
        .unwrap_or_default();
    let grant = hex(play.rng, 64);
    play.step(&w, &Call::new(KMS, "CreateGrant", false, json!({"keyId": key, "granteePrincipal": format!("arn:aws:iam::{DR_ACCOUNT}:root"), "operations": ["Decrypt", "DescribeKey", "CreateGrant", "ReEncryptFrom"]})).respond(json!({"grantId": grant})).resources(json!([{"accountId": play.world.account, "type": "AWS::KMS::Key", "ARN": key}])), 1..4)?;
    let n = play.rng.random_range(4..9);
    for snap in res.snapshots.iter().take(n) {
        let request = uuid4(play.rng);
        play.step(&w, &Call::new(EC2, "ModifySnapshotAttribute", false, json!({"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"userId": DR_ACCOUNT}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"})).respond(json!({"requestId": request, "_return": true})), 0..3)?;
    }
    let date = iso(play.t)[..10].to_owned();
    for db in &res.dbs {
        let snap = format!("nightly-{db}-{date}");
        play.step(&w, &Call::new(RDS, "ModifyDBSnapshotAttribute", false, json!({"dBSnapshotIdentifier": snap, "attributeName": "restore", "valuesToAdd": [DR_ACCOUNT]})).respond(json!({"dBSnapshotIdentifier": snap, "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": [DR_ACCOUNT]}]})), 1..5)?;
    }
    Ok(())
}
