//! Machine principals that run around the clock: application roles, SSM agents on
//! instances and the monitoring vendor's poller; AWS services are in `services`.

use super::agents::LAMBDA_WORKER;
use super::calls::{assume_role, benign_failure, s3_object};
use super::catalog::{self, draw};
use super::identity::{aws_account, rename_session};
use super::ids::{SimRng, hex, iam_id, pick, stream, uuid4};
use super::normal::{Sink, Who, count, diurnal};
use super::params::build;
use super::population::{Kind, Principal};
use super::record::Call;
use super::services;
use super::timefmt::{DAY, iso};
use super::world::{VENDOR_ACCOUNT, World};
use rand::Rng;
use serde_json::json;

/// Unit start times for one UTC day.
pub(crate) fn plan(p: &Principal, day_start: i64, target: f64, rng: &mut SimRng) -> Vec<i64> {
    let per_unit = match p.kind {
        // A burst of 1.8 calls on average, plus the occasional object access.
        Kind::Workload => match p.name.as_str() {
            "app-worker-task" => 2.07,
            "lambda-reports" => 2.06,
            _ => 1.82,
        },
        Kind::SsmAgent => 1.5,
        Kind::Monitor => 11.0,
        Kind::Config => 12.5,
        Kind::AutoScaling => 2.6,
        Kind::ServiceEvents => 1.67,
        Kind::TrustedAdvisor => 14.0,
        _ => 1.0,
    };
    let n = if p.kind == Kind::ServiceEvents {
        // Rotations run on schedules, whatever the traffic.
        rng.random_range(2..5)
    } else {
        count(rng, target / per_unit)
    };
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
        Kind::Config | Kind::TrustedAdvisor => services::service_reads(world, pi, p, t, rng, sink),
        Kind::AutoScaling => services::autoscaling(world, pi, p, t, rng, sink),
        Kind::ServiceAssume => services::service_assume(world, t, rng, sink),
        Kind::ServiceEvents => services::service_events(world, k, t, rng, sink),
        _ => Ok(()),
    }
}

pub(crate) fn maybe_fail(call: Call, p_fail: f64, rng: &mut SimRng) -> Call {
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
        let mut vrng = stream(world.org, "vendor", 0);
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
