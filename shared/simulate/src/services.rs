//! AWS services acting in the account: AWS Config and Trusted Advisor reading
//! configuration, Auto Scaling launching and terminating, service principals assuming
//! roles for Lambda, EC2 and ECS, and service events (key and secret rotation).

use super::calls::{assume_role, service_event};
use super::catalog::{self, draw, find};
use super::identity::{aws_service, service_event as event_identity};
use super::ids::{SimRng, hex, pick};
use super::machines::maybe_fail;
use super::normal::{Sink, Who};
use super::params::build;
use super::population::{Kind, Principal};
use super::record::Call;
use super::timefmt::DAY;
use super::world::World;
use rand::Rng;
use serde_json::json;

pub(crate) fn service_reads(
    world: &World,
    pi: usize,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let id = p.session(world.seed, pi, t);
    let region_idx = if rng.random_bool(0.5) {
        rng.random_range(0..world.regions.len())
    } else {
        world.weighted_region(rng)
    };
    let region = world.region(region_idx).to_owned();
    let src = p.ips.first().map_or("AWS Internal", String::as_str);
    let (lo, hi) = if p.kind == Kind::Config {
        (5, 21)
    } else {
        (8, 21)
    };
    for _ in 0..rng.random_range(lo..hi) {
        let api = draw(rng, &p.mix);
        let call = maybe_fail(build(world, &region, api, t, rng), 0.005, rng);
        sink.push(
            t,
            &region,
            &Who {
                identity: &id,
                ip: src,
                ua: src,
                console: false,
                vpce: None,
            },
            &call,
            rng,
        )?;
        t += rng.random_range(0..2);
    }
    Ok(())
}

pub(crate) fn autoscaling(
    world: &World,
    pi: usize,
    p: &Principal,
    t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let id = p.session(world.seed, pi, t);
    let region = world.region(0).to_owned();
    let who = Who {
        identity: &id,
        ip: "autoscaling.amazonaws.com",
        ua: "autoscaling.amazonaws.com",
        console: false,
        vpce: None,
    };
    let hour = (t.rem_euclid(DAY)) / 3600;
    let scale_out = (6..15).contains(&hour) || rng.random_bool(0.3);
    let instance = format!("i-0{}", hex(rng, 16));
    let tg = format!(
        "arn:aws:elasticloadbalancing:{region}:{}:targetgroup/prod-api/{}",
        world.account,
        hex(rng, 16)
    );
    let targets = json!({"targetGroupArn": tg, "targets": [{"id": instance}]});
    let calls = if scale_out {
        let run = find("ec2:RunInstances").map(|i| build(world, &region, i, t, rng));
        let tags = Call::new(catalog::EC2, "CreateTags", false, json!({"resourcesSet": {"items": [{"resourceId": instance}]}, "tagSet": {"items": [{"key": "aws:autoscaling:groupName", "value": "prod-api-asg"}]}})).respond(json!({"_return": true}));
        let reg = Call::new(catalog::ELB, "RegisterTargets", false, targets);
        run.into_iter().chain([tags, reg]).collect::<Vec<_>>()
    } else {
        let dereg = Call::new(catalog::ELB, "DeregisterTargets", false, targets);
        let term = Call::new(catalog::EC2, "TerminateInstances", false, json!({"instancesSet": {"items": [{"instanceId": instance}]}})).respond(json!({"instancesSet": {"items": [{"instanceId": instance, "currentState": {"code": 32, "name": "shutting-down"}, "previousState": {"code": 16, "name": "running"}}]}}));
        vec![dereg, term]
    };
    for (i, call) in calls.iter().enumerate() {
        sink.push(
            t + i as i64 * rng.random_range(1..40),
            &region,
            &who,
            call,
            rng,
        )?;
    }
    Ok(())
}

pub(crate) fn service_assume(
    world: &World,
    t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let res = &world.res;
    let roll: f64 = rng.random();
    let (svc, role, session) = if roll < 0.6 {
        let f = res
            .functions
            .get(rng.random_range(0..res.functions.len().max(1)))
            .cloned()
            .unwrap_or_default();
        let role = if f.starts_with("report") {
            "lambda-reports"
        } else {
            "lambda-orders"
        };
        ("lambda.amazonaws.com", role, f)
    } else if roll < 0.85 {
        let i = pick(rng, &res.instances)
            .map(|i| i.id.clone())
            .unwrap_or_default();
        ("ec2.amazonaws.com", "ec2-app-instance", i)
    } else {
        let role = if rng.random_bool(0.5) {
            "app-api-task"
        } else {
            "app-worker-task"
        };
        ("ecs-tasks.amazonaws.com", role, hex(rng, 32))
    };
    let id = aws_service(svc);
    let region = world
        .region(if rng.random_bool(0.85) { 0 } else { 1 })
        .to_owned();
    let call = assume_role(
        rng,
        &world.account,
        &world.role_arn(role),
        &session,
        None,
        t,
    );
    sink.push(
        t,
        &region,
        &Who {
            identity: &id,
            ip: svc,
            ua: svc,
            console: false,
            vpce: None,
        },
        &call,
        rng,
    )
}

pub(crate) fn service_events(
    world: &World,
    k: usize,
    t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(0).to_owned();
    let acct = &world.account;
    if k % 3 == 2 {
        let key = pick(rng, &world.res.keys).cloned().unwrap_or_default();
        let id = event_identity(acct, "kms.amazonaws.com");
        let call = service_event(
            catalog::KMS,
            "RotateKey",
            json!([{"accountId": acct, "type": "AWS::KMS::Key", "ARN": world.key_arn(&region, &key)}]),
            None,
        );
        return sink.push(
            t,
            &region,
            &Who {
                identity: &id,
                ip: "kms.amazonaws.com",
                ua: "kms.amazonaws.com",
                console: false,
                vpce: None,
            },
            &call,
            rng,
        );
    }
    let secret = pick(rng, &world.res.secrets).cloned().unwrap_or_default();
    let arn = world.secret_arn(&region, &secret);
    let id = event_identity(acct, "secretsmanager.amazonaws.com");
    let who = Who {
        identity: &id,
        ip: "secretsmanager.amazonaws.com",
        ua: "secretsmanager.amazonaws.com",
        console: false,
        vpce: None,
    };
    for (i, name) in ["RotationStarted", "RotationSucceeded"]
        .into_iter()
        .enumerate()
    {
        let mut call = service_event(catalog::SECRETS, name, serde_json::Value::Null, None);
        call.resources = None;
        call.extra = Some(json!({"SecretId": arn}));
        sink.push(
            t + i as i64 * rng.random_range(5..60),
            &region,
            &who,
            &call,
            rng,
        )?;
    }
    Ok(())
}
