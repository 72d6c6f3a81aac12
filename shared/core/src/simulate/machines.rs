//! Machine principals that run around the clock: application roles, SSM agents on
//! instances, the monitoring vendor's poller, AWS Config, Auto Scaling, Trusted
//! Advisor, service principals assuming roles, and service events.

use super::agents::LAMBDA_WORKER;
use super::calls::{assume_role, benign_failure, s3_object, service_event};
use super::catalog::{self, draw, find};
use super::identity::{aws_account, aws_service, rename_session, service_event as event_identity};
use super::ids::{SimRng, hex, iam_id, pick, stream, uuid4};
use super::normal::{Sink, Who, count, diurnal};
use super::params::build;
use super::population::{Kind, Principal};
use super::record::Call;
use super::timefmt::{DAY, iso};
use super::world::{VENDOR_ACCOUNT, World};
use rand::Rng;
use serde_json::json;

/// Unit start times for one UTC day.
pub(crate) fn plan(p: &Principal, day_start: i64, target: f64, rng: &mut SimRng) -> Vec<i64> {
    let per_unit = match p.kind {
        Kind::Workload => 2.2,
        Kind::SsmAgent => 1.5,
        Kind::Monitor => 11.0,
        Kind::Config => 12.5,
        Kind::AutoScaling => 4.0,
        Kind::TrustedAdvisor => 14.0,
        _ => 1.0,
    };
    let n = count(rng, target / per_unit);
    match p.kind {
        // Agents and pollers tick at a steady rate.
        Kind::SsmAgent | Kind::Monitor | Kind::TrustedAdvisor | Kind::ServiceEvents => {
            let step = DAY as f64 / n.max(1) as f64;
            (0..n)
                .map(|k| day_start + ((k as f64 + rng.random::<f64>()) * step) as i64)
                .collect()
        }
        _ => (0..n).map(|_| diurnal(rng, day_start)).collect(),
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
        Kind::Workload => workload(world, pi, p, t, rng, sink),
        Kind::SsmAgent => ssm_agent(world, pi, p, k, t, rng, sink),
        Kind::Monitor => monitor(world, pi, p, k, t, rng, sink),
        Kind::Config | Kind::TrustedAdvisor => service_reads(world, pi, p, t, rng, sink),
        Kind::AutoScaling => autoscaling(world, pi, p, t, rng, sink),
        Kind::ServiceAssume => service_assume(world, t, rng, sink),
        Kind::ServiceEvents => service_events(world, k, t, rng, sink),
        _ => Ok(()),
    }
}

fn maybe_fail(call: Call, p_fail: f64, rng: &mut SimRng) -> Call {
    if call.error.is_none() && rng.random_bool(p_fail) {
        let (code, msg) = benign_failure(&call, rng);
        call.fail(&code, msg)
    } else {
        call
    }
}

fn workload(
    world: &World,
    pi: usize,
    p: &Principal,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let id = p.session(world.seed, pi, t);
    let region_idx = if p.name == "lambda-orders" && rng.random_bool(0.2) {
        1
    } else {
        0
    };
    let region = world.region(region_idx).to_owned();
    let ip = pick(rng, &p.ips)
        .map_or("10.10.0.10", String::as_str)
        .to_owned();
    let ua = p.uas.first().map_or("", String::as_str);
    let mut n = 1;
    while n < 6 && rng.random_bool(0.45) {
        n += 1;
    }
    for _ in 0..n {
        let api = draw(rng, &p.mix);
        let call = maybe_fail(build(world, &region, api, t, rng), 0.004, rng);
        let ua = if call.name == "CreateLogStream" {
            LAMBDA_WORKER
        } else {
            ua
        };
        sink.push(
            t,
            &region,
            &Who {
                identity: &id,
                ip: &ip,
                ua,
                console: false,
                vpce: p.vpce.as_deref(),
            },
            &call,
            rng,
        )?;
        t += rng.random_range(0..2);
    }
    let date = iso(t)[..10].replace('-', "/");
    let object = match p.name.as_str() {
        "app-worker-task" if rng.random_bool(0.25) => Some((
            "PutObject",
            format!("exports/{date}/{}.json.gz", uuid4(rng)),
        )),
        "lambda-reports" if rng.random_bool(0.15) => Some((
            "GetObject",
            format!("exports/{date}/{}.json.gz", uuid4(rng)),
        )),
        "lambda-reports" if rng.random_bool(0.1) => Some((
            "PutObject",
            format!("reports/{date}/daily-{}.csv", hex(rng, 8)),
        )),
        _ => None,
    };
    if let Some((name, key)) = object {
        let bytes = rng.random_range(2_000..4_000_000);
        let call = s3_object(
            rng,
            &world.account,
            &region,
            name,
            &world.res.data_bucket,
            &key,
            bytes,
        );
        sink.push(
            t,
            &region,
            &Who {
                identity: &id,
                ip: &ip,
                ua,
                console: false,
                vpce: p.vpce.as_deref(),
            },
            &call,
            rng,
        )?;
    }
    Ok(())
}

fn ssm_agent(
    world: &World,
    pi: usize,
    p: &Principal,
    k: usize,
    t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let instances = &world.res.instances;
    let Some(inst) = instances.get(k % instances.len().max(1)) else {
        return Ok(());
    };
    let mut id = p.session(world.seed, (pi << 8) | (k % instances.len()), t);
    rename_session(&mut id, &inst.id);
    let region = world.region(inst.region).to_owned();
    let ua = p.uas.first().map_or("", String::as_str);
    let who = Who {
        identity: &id,
        ip: &inst.private_ip,
        ua,
        console: false,
        vpce: p.vpce.as_deref(),
    };
    let host = format!("ip-{}.ec2.internal", inst.private_ip.replace('.', "-"));
    let params = json!({"instanceId": inst.id, "agentVersion": "3.2.2303.0", "agentName": "amazon-ssm-agent", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": inst.private_ip, "computerName": host, "agentStatus": "Active", "availabilityZone": inst.az});
    let call = Call::new(catalog::SSM, "UpdateInstanceInformation", false, params);
    sink.push(t, &region, &who, &call, rng)?;
    if rng.random_bool(0.5) {
        let call = Call::new(
            catalog::SSM,
            "ListInstanceAssociations",
            true,
            json!({"instanceId": inst.id, "maxResults": 20}),
        );
        sink.push(t + rng.random_range(0..3), &region, &who, &call, rng)?;
    }
    Ok(())
}

fn monitor(
    world: &World,
    pi: usize,
    p: &Principal,
    k: usize,
    mut t: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let region = world.region(k % world.regions.len()).to_owned();
    let ip = p
        .ips
        .get(k % p.ips.len().max(1))
        .map_or("3.0.0.1", String::as_str)
        .to_owned();
    let ua = p.uas.first().map_or("", String::as_str);
    if k % 6 == 0 {
        let mut vrng = stream(world.seed, "vendor", 0);
        let caller = aws_account(
            &format!("{}:datadog-aws-integration", iam_id(&mut vrng, "AROA")),
            VENDOR_ACCOUNT,
        );
        let role = world.role_arn("DatadogIntegrationRole");
        let call = assume_role(
            rng,
            &world.account,
            &role,
            "datadog-aws-integration",
            Some("5d2a6c1b8f9e4a3b"),
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
        t += 1;
    }
    let id = p.session(world.seed, pi, t);
    let n = rng.random_range(6..16);
    for _ in 0..n {
        let api = draw(rng, &p.mix);
        let mut call = build(world, &region, api, t, rng);
        if rng.random_bool(0.012) {
            call = call.fail("ThrottlingException", "Rate exceeded".to_owned());
        }
        sink.push(
            t,
            &region,
            &Who {
                identity: &id,
                ip: &ip,
                ua,
                console: false,
                vpce: None,
            },
            &call,
            rng,
        )?;
        t += rng.random_range(0..3);
    }
    Ok(())
}

fn service_reads(
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

fn autoscaling(
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

fn service_assume(
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

fn service_events(
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
