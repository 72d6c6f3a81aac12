//! Scheduled and triggered automation: Terraform runs from GitHub Actions (OIDC),
//! CodeBuild deployments, nightly backups, a reporting portal's federated sessions,
//! the DR account's nightly reads and a legacy on-premises job with a long-term key.

use super::agents::{MIX_TERRAFORM, TERRAFORM};
use super::calls::{
    assume_role, assume_role_with_web_identity, benign_failure, get_federation_token, s3_object,
};
use super::catalog::{self, draw, find, resolve};
use super::identity::{aws_account, federated_user, rename_session, web_identity_user};
use super::ids::{SimRng, hex, iam_id, pick, stream, uuid4};
use super::normal::{Sink, Who, business, count};
use super::params::build;
use super::population::{Kind, Principal};
use super::record::Call;
use super::timefmt::{console_date, iso};
use super::world::{DR_ACCOUNT, World, one};
use rand::Rng;
use serde_json::json;

/// Writes a Terraform apply makes on an ordinary change.
const TF_WRITES: &[(&str, f64)] = &[
    ("ec2:CreateTags", 4.0),
    ("iam:TagRole", 2.0),
    ("lambda:UpdateFunctionConfiguration20150331v2", 2.0),
    ("s3:PutBucketTagging", 2.0),
    ("monitoring:PutMetricAlarm", 2.0),
    ("logs:PutRetentionPolicy", 1.0),
    ("ssm:PutParameter", 1.0),
    ("ec2:AuthorizeSecurityGroupIngress", 1.0),
    ("iam:PutRolePolicy", 1.0),
    ("iam:AttachRolePolicy", 0.5),
    ("s3:PutLifecycleConfiguration", 1.0),
    ("route53:ChangeResourceRecordSets", 0.5),
];
const GHA_UA: &str = "aws-sdk-js/3.525.0 ua/2.0 os/linux#6.5.0-1016-azure lang/js md/nodejs#20.11.1 api/sts#3.525.0 configure-aws-credentials-for-github-actions";
const CUSTOMERS: &[&str] = &[
    "globex", "initech", "umbrella", "hooli", "vandelay", "wonka", "stark", "tyrell",
];

/// Unit start times for one UTC day.
pub(crate) fn plan(p: &Principal, day_start: i64, target: f64, rng: &mut SimRng) -> Vec<i64> {
    let at =
        |rng: &mut SimRng, h: i64, spread: i64| day_start + h * 3600 + rng.random_range(0..spread);
    match p.kind {
        Kind::Terraform => {
            let n = count(rng, target / 80.0);
            // The nightly drift check, then runs as people merge.
            (0..n)
                .map(|k| {
                    if k == 0 {
                        at(rng, 2, 600)
                    } else {
                        business(rng, day_start)
                    }
                })
                .collect()
        }
        Kind::Deploy => (0..count(rng, target / 14.0))
            .map(|_| business(rng, day_start))
            .collect(),
        Kind::Portal => (0..count(rng, target / 7.0))
            .map(|_| {
                day_start + (super::ids::normal(rng, 16.0, 3.0).clamp(0.0, 23.9) * 3600.0) as i64
            })
            .collect(),
        Kind::Backup => vec![at(rng, 3, 300)],
        Kind::DrReader => vec![at(rng, 4, 1800)],
        Kind::OnPrem => vec![at(rng, 0, 1200) + 1200],
        _ => Vec::new(),
    }
}

/// Renders unit `k` at `t`.
pub(crate) fn render(
    world: &World,
    pi: usize,
    p: &Principal,
    k: usize,
    t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    match p.kind {
        Kind::Terraform => terraform(world, p, k, t, rng, sink, None).map(|_| ()),
        Kind::Deploy => deploy(world, p, t, rng, sink),
        Kind::Backup => backup(world, pi, p, t, rng, sink),
        Kind::Portal => portal(world, p, t, rng, sink),
        Kind::DrReader => dr_reader(world, pi, p, t, rng, sink),
        Kind::OnPrem => on_prem(world, p, t, rng, sink),
        _ => Ok(()),
    }
}

/// One Terraform run: a refresh, then sometimes a small apply, or with `changes` an
/// apply of exactly those calls (the benign terraform-apply scenario). Returns the
/// time the run ended.
pub(crate) fn terraform(
    world: &World,
    p: &Principal,
    k: usize,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
    changes: Option<Vec<Call>>,
) -> Result<i64, serde_json::Error> {
    let region = world.region(0).to_owned();
    let ip = pick(rng, &p.ips).cloned().unwrap_or_default();
    let main = changes.is_some() || k == 0 || rng.random_bool(0.3);
    let subject = if main {
        "repo:acme/infrastructure:ref:refs/heads/main"
    } else {
        "repo:acme/infrastructure:pull_request"
    };
    let provider = format!(
        "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com",
        world.account
    );
    let caller = web_identity_user(&provider, "sts.amazonaws.com", subject);
    let role = p.role_name().unwrap_or("github-actions-terraform");
    let call =
        assume_role_with_web_identity(rng, &world.account, &world.role_arn(role), subject, t);
    sink.push(
        t,
        &region,
        &Who {
            identity: &caller,
            ip: &ip,
            ua: GHA_UA,
            console: false,
            vpce: None,
        },
        &call,
        rng,
    )?;
    let mut id = p.identity.clone();
    id.access_key_id = Some(iam_id(rng, "ASIA"));
    if let Some(ctx) = id.session_context.as_mut() {
        ctx.attributes.creation_date = iso(t);
    }
    t += rng.random_range(5..20);
    let who = Who {
        identity: &id,
        ip: &ip,
        ua: TERRAFORM,
        console: false,
        vpce: None,
    };
    let mix = resolve(MIX_TERRAFORM);
    let mut calls: Vec<usize> = find("sts:GetCallerIdentity").into_iter().collect();
    calls.extend((0..rng.random_range(30..130)).map(|_| draw(rng, &mix)));
    let n_writes = if changes.is_none() && main && rng.random_bool(0.4) {
        rng.random_range(1..8)
    } else {
        0
    };
    let write_mix = resolve(TF_WRITES);
    calls.extend((0..n_writes).map(|_| draw(rng, &write_mix)));
    for api in calls {
        let mut call = build(world, &region, api, t, rng);
        if call.error.is_none() && rng.random_bool(0.008) {
            let (code, msg) = benign_failure(&call, rng);
            call = call.fail(&code, msg);
        }
        sink.push(t, &region, &who, &call, rng)?;
        t += i64::from(rng.random_bool(0.6));
    }
    for call in changes.unwrap_or_default() {
        sink.push(t, &region, &who, &call, rng)?;
        t += rng.random_range(0..3);
    }
    Ok(t)
}

fn deploy(
    world: &World,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let mut id = p.identity.clone();
    rename_session(&mut id, &format!("AWSCodeBuild-{}", uuid4(rng)));
    id.access_key_id = Some(iam_id(rng, "ASIA"));
    if let Some(ctx) = id.session_context.as_mut() {
        ctx.attributes.creation_date = iso(t - 20);
    }
    let ip = p.ips.first().cloned().unwrap_or_default();
    let who = Who {
        identity: &id,
        ip: &ip,
        ua: p.uas.first().map_or("", String::as_str),
        console: false,
        vpce: None,
    };
    let acct = &world.account;
    let mut calls = Vec::new();
    if rng.random_bool(0.7) {
        let service = one(rng, &world.res.services).to_owned();
        let tag = hex(rng, 7);
        calls.push(Call::new(
            catalog::ECR,
            "GetAuthorizationToken",
            true,
            serde_json::Value::Null,
        ));
        calls.push(Call::new(catalog::ECR, "PutImage", false, json!({"repositoryName": format!("acme/{service}"), "imageTag": format!("sha-{tag}"), "registryId": acct})).respond(json!({"image": {"registryId": acct, "repositoryName": format!("acme/{service}"), "imageId": {"imageTag": format!("sha-{tag}"), "imageDigest": format!("sha256:{}", hex(rng, 64))}}})));
        calls.push(Call::new(
            catalog::ECS,
            "DescribeTaskDefinition",
            true,
            json!({"taskDefinition": service}),
        ));
        let rev = rng.random_range(40..200);
        let family_arn = format!("arn:aws:ecs:{region}:{acct}:task-definition/{service}:{rev}");
        calls.push(Call::new(catalog::ECS, "RegisterTaskDefinition", false, json!({"family": service, "taskRoleArn": world.role_arn("app-api-task"), "executionRoleArn": world.role_arn("ecsTaskExecutionRole"), "networkMode": "awsvpc", "containerDefinitions": [{"name": service, "image": format!("{acct}.dkr.ecr.{region}.amazonaws.com/acme/{service}:sha-{tag}"), "essential": true}], "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024"})).respond(json!({"taskDefinition": {"taskDefinitionArn": family_arn, "family": service, "revision": rev, "status": "ACTIVE"}})));
        calls.push(Call::new(catalog::ECS, "UpdateService", false, json!({"cluster": "prod", "service": service, "taskDefinition": format!("{service}:{rev}"), "forceNewDeployment": false})).respond(json!({"service": {"serviceName": service, "taskDefinition": family_arn, "status": "ACTIVE"}})));
        for _ in 0..rng.random_range(5..16) {
            calls.push(Call::new(
                catalog::ECS,
                "DescribeServices",
                true,
                json!({"cluster": "prod", "services": [service]}),
            ));
        }
    } else {
        let f = one(rng, &world.res.functions).to_owned();
        calls.push(
            find("lambda:UpdateFunctionCode20150331v2")
                .map(|i| build(world, &region, i, t, rng))
                .unwrap_or_else(|| {
                    Call::new(
                        catalog::LAMBDA,
                        "UpdateFunctionCode20150331v2",
                        false,
                        json!({"functionName": f}),
                    )
                }),
        );
        for _ in 0..rng.random_range(3..8) {
            calls.push(Call::new(
                catalog::LAMBDA,
                "GetFunctionConfiguration20150331v2",
                true,
                json!({"functionName": f}),
            ));
        }
        calls.push(Call::new(catalog::LAMBDA, "PublishVersion20150331", false, json!({"functionName": f})).respond(json!({"functionName": f, "version": rng.random_range(10..300).to_string(), "state": "Active"})));
        calls.push(Call::new(
            catalog::LAMBDA,
            "UpdateAlias20150331",
            false,
            json!({"functionName": f, "name": "live"}),
        ));
    }
    for call in &calls {
        sink.push(t, &region, &who, call, rng)?;
        t += rng.random_range(2..16);
    }
    Ok(())
}

fn backup(
    world: &World,
    pi: usize,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let id = p.session(world.seed, pi, t);
    let ip = pick(rng, &p.ips).cloned().unwrap_or_default();
    let who = Who {
        identity: &id,
        ip: &ip,
        ua: p.uas.first().map_or("", String::as_str),
        console: false,
        vpce: None,
    };
    let res = &world.res;
    let date = &iso(t)[..10];
    let mut calls = vec![Call::new(
        catalog::EC2,
        "DescribeVolumes",
        true,
        json!({"volumeSet": {}, "filterSet": {"items": [{"name": "tag:backup", "valueSet": {"items": [{"value": "nightly"}]}}]}}),
    )];
    for v in &res.volumes {
        calls.push(Call::new(catalog::EC2, "CreateSnapshot", false, json!({"volumeId": v, "description": format!("nightly {date}")})).respond(json!({"snapshotId": format!("snap-0{}", hex(rng, 16)), "volumeId": v, "status": "pending", "startTime": t * 1000, "ownerId": world.account})));
    }
    calls.push(Call::new(catalog::EC2, "DescribeSnapshots", true, json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}})));
    for _ in 0..rng.random_range(4..9) {
        calls.push(
            Call::new(
                catalog::EC2,
                "DeleteSnapshot",
                false,
                json!({"snapshotId": format!("snap-0{}", hex(rng, 16))}),
            )
            .respond(json!({"_return": true})),
        );
    }
    for db in &res.dbs {
        calls.push(Call::new(catalog::RDS, "CreateDBSnapshot", false, json!({"dBSnapshotIdentifier": format!("nightly-{db}-{date}"), "dBInstanceIdentifier": db})).respond(json!({"dBSnapshotIdentifier": format!("nightly-{db}-{date}"), "status": "creating", "snapshotType": "manual", "snapshotCreateTime": console_date(t)})));
        calls.push(Call::new(
            catalog::RDS,
            "DeleteDBSnapshot",
            false,
            json!({"dBSnapshotIdentifier": format!("nightly-{db}-old")}),
        ));
    }
    for call in &calls {
        sink.push(t, &region, &who, call, rng)?;
        t += rng.random_range(0..4);
    }
    Ok(())
}

fn portal(
    world: &World,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let ip = p.ips.first().cloned().unwrap_or_default();
    let ua = p.uas.first().map_or("", String::as_str);
    let customer = CUSTOMERS[rng.random_range(0..CUSTOMERS.len())];
    let name = format!("portal-{customer}");
    let call = get_federation_token(rng, &world.account, &name, t);
    sink.push(
        t,
        &region,
        &Who {
            identity: &p.identity,
            ip: &ip,
            ua,
            console: false,
            vpce: None,
        },
        &call,
        rng,
    )?;
    let aida = p.identity.principal_id.clone().unwrap_or_default();
    let id = federated_user(
        &world.account,
        &name,
        &iam_id(rng, "ASIA"),
        &iso(t),
        (&p.name, &aida),
    );
    let who = Who {
        identity: &id,
        ip: &ip,
        ua,
        console: false,
        vpce: None,
    };
    t += 1;
    for _ in 0..rng.random_range(1..5) {
        let key = format!(
            "exports/{customer}/{}/orders-{}.csv.gz",
            &iso(t - 86_400)[..10],
            rng.random_range(0..8)
        );
        let bytes = rng.random_range(50_000..9_000_000);
        let call = s3_object(
            rng,
            &world.account,
            &region,
            "GetObject",
            &world.res.data_bucket,
            &key,
            bytes,
        );
        sink.push(t, &region, &who, &call, rng)?;
        t += rng.random_range(1..20);
    }
    for key in [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
    ] {
        if let Some(api) = find(key) {
            let call = build(world, &region, api, t, rng);
            sink.push(t, &region, &who, &call, rng)?;
            t += rng.random_range(1..5);
        }
    }
    Ok(())
}

fn dr_reader(
    world: &World,
    pi: usize,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let ip = p.ips.first().cloned().unwrap_or_default();
    let ua = p.uas.first().map_or("", String::as_str);
    let mut drng = stream(world.seed, "dr-caller", 0);
    let caller = aws_account(
        &format!("{}:dr-sync", iam_id(&mut drng, "AROA")),
        DR_ACCOUNT,
    );
    let call = assume_role(
        rng,
        &world.account,
        &world.role_arn("dr-backup-reader"),
        "dr-sync",
        None,
        t,
    );
    sink.push(
        t,
        &region,
        &Who {
            identity: &caller,
            ip: &ip,
            ua,
            console: false,
            vpce: None,
        },
        &call,
        rng,
    )?;
    let id = p.session(world.seed, pi, t);
    let who = Who {
        identity: &id,
        ip: &ip,
        ua,
        console: false,
        vpce: None,
    };
    for key in [
        "ec2:DescribeSnapshots",
        "ec2:DescribeSnapshots",
        "rds:DescribeDBSnapshots",
        "kms:DescribeKey",
        "ec2:DescribeImages",
    ] {
        t += rng.random_range(1..10);
        if let Some(api) = find(key) {
            let call = build(world, &region, api, t, rng);
            sink.push(t, &region, &who, &call, rng)?;
        }
    }
    Ok(())
}

fn on_prem(
    world: &World,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let ip = p.ips.first().cloned().unwrap_or_default();
    let who = Who {
        identity: &p.identity,
        ip: &ip,
        ua: p.uas.first().map_or("", String::as_str),
        console: false,
        vpce: None,
    };
    for key in [
        "sts:GetCallerIdentity",
        "s3:ListBuckets",
        "s3:GetBucketLocation",
        "s3:GetBucketLocation",
    ] {
        if let Some(api) = find(key) {
            let call = build(world, &region, api, t, rng);
            sink.push(t, &region, &who, &call, rng)?;
        }
        t += rng.random_range(1..30);
    }
    Ok(())
}
