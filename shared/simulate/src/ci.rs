//! CI runs: Terraform in GitHub Actions through OIDC (a refresh, sometimes an
//! apply) and CodeBuild deployments of containers and functions.

use super::agents::{MIX_TERRAFORM, TERRAFORM};
use super::calls::{assume_role_with_web_identity, benign_failure};
use super::catalog::{self, draw, find, resolve};
use super::identity::{rename_session, web_identity_user};
use super::ids::{SimRng, hex, iam_id, pick, uuid4};
use super::normal::{Sink, Who};
use super::params::build;
use super::population::Principal;
use super::record::Call;
use super::timefmt::iso;
use super::world::{World, one};
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

pub(crate) fn deploy(
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
