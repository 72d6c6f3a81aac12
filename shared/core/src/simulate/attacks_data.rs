//! Attack scripts on data and exposure: secret harvesting, S3 exfiltration, snapshot
//! sharing, reconnaissance with stolen keys, world-open security groups and a public
//! Lambda backdoor.

use super::calls::{benign_failure, s3_object};
use super::catalog::{self, EC2, LAMBDA, RDS, S3, SECRETS, SSM, STS, draw, resolve};
use super::identity::aws_account;
use super::ids::{alnum, hex, uuid4};
use super::normal::Who;
use super::params::build;
use super::record::{Call, Identity};
use super::scenarios::{Play, attacker_ip, odd_agent};
use super::timefmt::{console_date, iso};
use super::world::{EXTERNAL_ACCOUNT, one};
use rand::Rng;
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

fn who<'a>(identity: &'a Identity, ip: &'a str, ua: &'a str) -> Who<'a> {
    Who {
        identity,
        ip,
        ua,
        console: false,
        vpce: None,
    }
}

/// Credentials of the API task role (taken through SSRF) used from outside: every
/// secret and decrypted parameter read within minutes, some denied.
pub(crate) fn secrets_harvest(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("app-api-task");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    play.step(
        &w,
        &Call::new(STS, "GetCallerIdentity", true, Value::Null),
        2..10,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(SECRETS, "ListSecrets", true, json!({"maxResults": 100})),
            &id,
        ),
        2..8,
    )?;
    let secrets = play.world.res.secrets.clone();
    for i in 0..play.rng.random_range(25..45) {
        let name = &secrets[i % secrets.len().max(1)];
        let call = Call::new(
            SECRETS,
            "GetSecretValue",
            true,
            json!({"secretId": play.world.secret_arn(&region, name)}),
        );
        let call = match play.rng.random_range(0..10) {
            0..=1 => Play::denied(call, &id),
            2 => call.fail(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.".into(),
            ),
            _ => call,
        };
        play.step(&w, &call, 1..6)?;
    }
    play.step(
        &w,
        &Play::denied(
            Call::new(SSM, "DescribeParameters", true, json!({"maxResults": 50})),
            &id,
        ),
        1..4,
    )?;
    for path in ["/prod/", "/prod/api/", "/shared/"] {
        play.step(
            &w,
            &Call::new(
                SSM,
                "GetParametersByPath",
                true,
                json!({"path": path, "recursive": true, "withDecryption": true}),
            ),
            1..4,
        )?;
    }
    let params = play.world.res.params.clone();
    for chunk in params.chunks(3).take(play.rng.random_range(6..10)) {
        play.step(
            &w,
            &Call::new(
                SSM,
                "GetParameters",
                true,
                json!({"names": chunk, "withDecryption": true}),
            ),
            1..4,
        )?;
    }
    Ok(())
}

/// A phished developer session opens the export bucket to the world, replicates it to
/// an external account, and the objects are pulled anonymously and with the session.
pub(crate) fn s3_exfiltration(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("carol.nguyen", &ip, super::scenarios::ATTACKER_BROWSER)?;
    let ua = "aws-cli/2.9.0 Python/3.9.11 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/{cmd}";
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    let bucket = play.world.res.data_bucket.clone();
    let acct = play.world.account.clone();
    let host = format!("{bucket}.s3.{region}.amazonaws.com");
    let s3 = |sub: &str, extra: Value| {
        let mut v = json!({"bucketName": bucket, "Host": host, sub: ""});
        if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        v
    };
    play.step(
        &w,
        &Call::new(
            S3,
            "ListBuckets",
            true,
            json!({"Host": format!("s3.{region}.amazonaws.com")}),
        ),
        3..20,
    )?;
    play.step(
        &w,
        &Call::new(S3, "GetBucketPolicy", true, s3("policy", Value::Null)).fail(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist".into(),
        ),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(
            S3,
            "GetBucketPublicAccessBlock",
            true,
            s3("publicAccessBlock", Value::Null),
        ),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(
            S3,
            "DeleteBucketPublicAccessBlock",
            false,
            s3("publicAccessBlock", Value::Null),
        ),
        3..20,
    )?;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    play.step(
        &w,
        &Call::new(
            S3,
            "PutBucketPolicy",
            false,
            s3("policy", json!({"bucketPolicy": policy})),
        ),
        3..20,
    )?;
    let acl = json!({"AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}, "Owner": {"ID": hex(play.rng, 64)}}, "x-amz-acl": ["public-read"]});
    play.step(
        &w,
        &Call::new(S3, "PutBucketAcl", false, s3("acl", acl)),
        3..20,
    )?;
    let repl = json!({"ReplicationConfiguration": {"Role": format!("arn:aws:iam::{acct}:role/s3-replication"), "Rule": {"ID": "sync", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": format!("arn:aws:s3:::backup-{}", alnum(play.rng, 8).to_lowercase()), "Account": EXTERNAL_ACCOUNT}}}});
    play.step(
        &w,
        &Call::new(S3, "PutBucketReplication", false, s3("replication", repl)),
        30..120,
    )?;
    let anon = aws_account("", "anonymous");
    let ip2 = attacker_ip(play.rng);
    let date = iso(play.t - 86_400)[..10].replace('-', "/");
    for i in 0..play.rng.random_range(80..200) {
        let key = format!("exports/{date}/{}.json.gz", uuid4(play.rng));
        let bytes = play.rng.random_range(200_000..25_000_000);
        let call = s3_object(play.rng, &acct, &region, "GetObject", &bucket, &key, bytes);
        if i % 5 == 0 {
            play.step(&w, &call, 0..3)?;
        } else {
            play.step(&who(&anon, &ip2, "curl/8.5.0"), &call, 0..4)?;
        }
    }
    Ok(())
}

/// The backup role's session used from outside to share EBS snapshots, an AMI and
/// RDS snapshots publicly and with an external account.
pub(crate) fn snapshot_exposure(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("backup-automation");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let res = play.world.res.clone();
    play.step(&w, &Call::new(EC2, "DescribeSnapshots", true, json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}})), 5..30)?;
    for (i, snap) in res.snapshots.iter().take(3).enumerate() {
        let add = if i == 0 {
            json!({"items": [{"group": "all"}]})
        } else {
            json!({"items": [{"userId": EXTERNAL_ACCOUNT}]})
        };
        let request = uuid4(play.rng);
        play.step(&w, &Call::new(EC2, "ModifySnapshotAttribute", false, json!({"snapshotId": snap, "createVolumePermission": {"add": add}, "attributeType": "CREATE_VOLUME_PERMISSION"})).respond(json!({"requestId": request, "_return": true})), 3..20)?;
    }
    play.step(&w, &Call::new(EC2, "DescribeImages", true, json!({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})), 3..20)?;
    let ami = res.amis.first().cloned().unwrap_or_default();
    let request = uuid4(play.rng);
    play.step(&w, &Call::new(EC2, "ModifyImageAttribute", false, json!({"imageId": ami, "launchPermission": {"add": {"items": [{"userId": EXTERNAL_ACCOUNT}]}}, "attributeType": "launchPermission"})).respond(json!({"requestId": request, "_return": true})), 3..20)?;
    play.step(
        &w,
        &Call::new(
            RDS,
            "DescribeDBSnapshots",
            true,
            json!({"snapshotType": "manual"}),
        ),
        3..20,
    )?;
    let date = iso(play.t - 86_400)[..10].to_owned();
    for (i, db) in res.dbs.iter().take(2).enumerate() {
        let snap = format!("nightly-{db}-{date}");
        let values = if i == 0 {
            json!(["all"])
        } else {
            json!([EXTERNAL_ACCOUNT])
        };
        play.step(&w, &Call::new(RDS, "ModifyDBSnapshotAttribute", false, json!({"dBSnapshotIdentifier": snap, "attributeName": "restore", "valuesToAdd": values})).respond(json!({"dBSnapshotIdentifier": snap, "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": values}]})), 3..20)?;
    }
    Ok(())
}

/// What a stolen key is tried against: identity first, then every service.
const RECON: &[(&str, f64)] = &[
    ("iam:ListUsers", 2.0),
    ("iam:ListRoles", 2.0),
    ("iam:ListPolicies", 1.0),
    ("iam:ListGroups", 1.0),
    ("s3:ListBuckets", 2.0),
    ("s3:GetBucketAcl", 2.0),
    ("s3:GetBucketPolicy", 2.0),
    ("ec2:DescribeInstances", 4.0),
    ("ec2:DescribeSecurityGroups", 2.0),
    ("ec2:DescribeVpcs", 2.0),
    ("ec2:DescribeSnapshots", 2.0),
    ("ec2:DescribeImages", 1.0),
    ("ec2:DescribeVolumes", 1.0),
    ("lambda:ListFunctions20150331", 2.0),
    ("rds:DescribeDBInstances", 2.0),
    ("secretsmanager:ListSecrets", 2.0),
    ("ssm:DescribeParameters", 2.0),
    ("dynamodb:ListTables", 2.0),
    ("kms:ListKeys", 1.0),
    ("cloudtrail:DescribeTrails", 1.0),
    ("guardduty:ListDetectors", 1.0),
    ("organizations:DescribeOrganization", 1.0),
    ("ecr:DescribeRepositories", 1.0),
    ("sns:ListTopics", 1.0),
    ("sqs:ListQueues", 1.0),
    ("route53:ListHostedZones", 1.0),
    ("cloudformation:ListStacks", 1.0),
    ("ecs:ListClusters", 1.0),
    ("logs:DescribeLogGroups", 1.0),
];

/// The on-premises backup key (leaked from a repository) enumerates the account in
/// every region; it may only use S3, so most calls are denied.
pub(crate) fn recon_burst(play: &mut Play<'_, '_>) -> Res {
    let id = play
        .world
        .principals
        .iter()
        .find(|p| p.name == "svc-backup-onprem")
        .map(|p| p.identity.clone())
        .unwrap_or_default();
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let user = id.user_name.clone().unwrap_or_default();
    play.step(
        &w,
        &Call::new(STS, "GetCallerIdentity", true, Value::Null),
        1..5,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(catalog::IAM, "GetUser", true, json!({"userName": user})),
            &id,
        ),
        0..3,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(
                catalog::IAM,
                "ListAttachedUserPolicies",
                true,
                json!({"userName": user}),
            ),
            &id,
        ),
        0..3,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(
                catalog::IAM,
                "GetAccountAuthorizationDetails",
                true,
                json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}),
            ),
            &id,
        ),
        0..3,
    )?;
    let mix = resolve(RECON);
    let regions = play.world.regions.clone();
    for _ in 0..play.rng.random_range(100..250) {
        let region = regions[play.rng.random_range(0..regions.len())].clone();
        let api = draw(play.rng, &mix);
        let t = play.t;
        let mut call = build(play.world, &region, api, t, play.rng);
        call = if call.source == S3 && call.name != "GetBucketPolicy" {
            call
        } else if play.rng.random_bool(0.9) {
            Play::denied(call, &id)
        } else {
            let (code, msg) = benign_failure(&call, play.rng);
            call.fail(&code, msg)
        };
        play.step_in(&region, &w, &call, 0..3)?;
    }
    Ok(())
}

/// A phished developer session opens SSH and RDP to the internet.
pub(crate) fn sg_open_world(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("dave.okafor", &ip, super::scenarios::ATTACKER_BROWSER)?;
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let sg = one(play.rng, &play.world.res.security_groups).to_owned();
    let acct = play.world.account.clone();
    play.step(
        &w,
        &Call::new(
            EC2,
            "DescribeSecurityGroups",
            true,
            json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
        ),
        5..40,
    )?;
    for port in [22, 3389] {
        let perms = json!({"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}, "prefixListIds": {}}]});
        let rule = json!({"requestId": uuid4(play.rng), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": acct, "groupId": sg, "securityGroupRuleId": format!("sgr-0{}", hex(play.rng, 16)), "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}});
        play.step(
            &w,
            &Call::new(
                EC2,
                "AuthorizeSecurityGroupIngress",
                false,
                json!({"groupId": sg, "ipPermissions": perms}),
            )
            .respond(rule),
            5..60,
        )?;
    }
    Ok(())
}

/// Stolen CI session makes a function invocable by anyone and gives it a public URL.
pub(crate) fn lambda_backdoor(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("github-actions-terraform");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    let f = one(play.rng, &play.world.res.functions).to_owned();
    let arn = play.world.function_arn(&region, &f);
    play.step(
        &w,
        &Call::new(LAMBDA, "ListFunctions20150331", true, Value::Null),
        3..20,
    )?;
    play.step(
        &w,
        &Call::new(
            LAMBDA,
            "GetFunction20150331v2",
            true,
            json!({"functionName": f}),
        ),
        5..30,
    )?;
    let statement = format!(
        "{{\"Sid\":\"public-invoke\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"{arn}\"}}"
    );
    play.step(&w, &Call::new(LAMBDA, "AddPermission20150331v2", false, json!({"functionName": f, "statementId": "public-invoke", "action": "lambda:InvokeFunction", "principal": "*"})).respond(json!({"statement": statement})), 3..20)?;
    let url = format!(
        "https://{}.lambda-url.{region}.on.aws/",
        alnum(play.rng, 32).to_lowercase()
    );
    play.step(&w, &Call::new(LAMBDA, "CreateFunctionUrlConfig20211031", false, json!({"functionName": f, "authType": "NONE"})).respond(json!({"functionUrl": url, "functionArn": arn, "authType": "NONE", "creationTime": iso(play.t).replace('Z', ".000000Z")})), 3..20)?;
    play.step(&w, &Call::new(LAMBDA, "AddPermission20150331v2", false, json!({"functionName": f, "statementId": "FunctionURLAllowPublicAccess", "action": "lambda:InvokeFunctionUrl", "principal": "*", "functionUrlAuthType": "NONE"})).respond(json!({"statement": statement.replace("InvokeFunction\"", "InvokeFunctionUrl\"")})), 20..120)?;
    let bucket = play.world.res.artifact_bucket.clone();
    let object = format!("tmp/{}.zip", hex(play.rng, 8));
    play.step(&w, &Call::new(LAMBDA, "UpdateFunctionCode20150331v2", false, json!({"functionName": f, "s3Bucket": bucket, "s3Key": object, "publish": false})).respond(json!({"functionName": f, "functionArn": arn, "lastModified": console_date(play.t), "state": "Active"})), 1..2)
}
