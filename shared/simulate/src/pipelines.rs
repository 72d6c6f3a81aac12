//! Scheduled and triggered automation: when CI runs, nightly backups, a reporting
//! portal's federated sessions, the DR account's nightly reads and a legacy
//! on-premises job with a long-term key. The CI runs themselves are in `ci`.

use super::calls::{assume_role, get_federation_token, s3_object};
use super::catalog::{self, find};
use super::ci;
use super::identity::{aws_account, federated_user};
use super::ids::{SimRng, hex, iam_id, pick, stream};
use super::normal::{Sink, Who, business, count};
use super::params::build;
use super::population::{Kind, Principal};
use super::record::Call;
use super::timefmt::{console_date, iso};
use super::world::{DR_ACCOUNT, World};
use rand::Rng;
use serde_json::json;

const CUSTOMERS: &[&str] = &[
    "globex", "initech", "umbrella", "hooli", "vandelay", "wonka", "stark", "tyrell",
];

/// Unit start times for one UTC day.
pub(crate) fn plan(p: &Principal, day_start: i64, target: f64, rng: &mut SimRng) -> Vec<i64> {
    let at =
        |rng: &mut SimRng, h: i64, spread: i64| day_start + h * 3600 + rng.random_range(0..spread);
    match p.kind {
        Kind::Terraform => {
            let n = count(rng, target / 83.0);
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
        Kind::Deploy => (0..count(rng, target / 12.9))
            .map(|_| business(rng, day_start))
            .collect(),
        Kind::Portal => (0..count(rng, target / 7.5))
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
        Kind::Terraform => ci::terraform(world, p, k, t, rng, sink, None).map(|_| ()),
        Kind::Deploy => ci::deploy(world, p, t, rng, sink),
        Kind::Backup => backup(world, pi, p, t, rng, sink),
        Kind::Portal => portal(world, p, t, rng, sink),
        Kind::DrReader => dr_reader(world, pi, p, t, rng, sink),
        Kind::OnPrem => on_prem(world, p, t, rng, sink),
        _ => Ok(()),
    }
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
    let mut drng = stream(world.org, "dr-caller", 0);
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
