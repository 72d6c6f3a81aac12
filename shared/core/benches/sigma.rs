//! Cost of Sigma rules while parsing CloudTrail: `CtBatch::read_with` on a
//! simulated day (plain JSON, so gunzip does not hide the difference) with no rule
//! set, the built-in threshold rules, 60 indexed rules, and 60 rules of which 3 have
//! no `eventName`/`eventSource` constraint (every event then pays a generic parse);
//! and the worst `re` the caps accept on one event with a 1 MB field.
//!
//! Run with `cargo bench -p trailhound-core --bench sigma`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench fails loudly"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Read;
use std::sync::Arc;
use trailhound_core::decode::Limits;
use trailhound_core::rules::sigma::RuleSet;
use trailhound_core::sources::cloudtrail::CtBatch;
use trailhound_simulate::cloudtrail::{SimConfig, generate};

/// Event names of the kind SigmaHQ's AWS rules watch, with their sources.
const WATCHED: &[(&str, &str)] = &[
    ("cloudtrail", "StopLogging"),
    ("cloudtrail", "UpdateTrail"),
    ("cloudtrail", "DeleteTrail"),
    ("iam", "CreateUser"),
    ("iam", "CreateAccessKey"),
    ("iam", "AttachUserPolicy"),
    ("iam", "CreateLoginProfile"),
    ("iam", "UpdateAssumeRolePolicy"),
    ("iam", "PutUserPolicy"),
    ("iam", "DeleteUser"),
    ("ec2", "ModifyInstanceAttribute"),
    ("ec2", "GetPasswordData"),
    ("ec2", "ModifySnapshotAttribute"),
    ("ec2", "AuthorizeSecurityGroupIngress"),
    ("ec2", "RunInstances"),
    ("ec2", "CreateKeyPair"),
    ("ec2", "DeleteFlowLogs"),
    ("s3", "PutBucketPolicy"),
    ("s3", "PutBucketAcl"),
    ("s3", "PutBucketLogging"),
    ("s3", "DeleteBucketPolicy"),
    ("s3", "PutBucketReplication"),
    ("guardduty", "DeleteDetector"),
    ("guardduty", "UpdateDetector"),
    ("config", "StopConfigurationRecorder"),
    ("kms", "ScheduleKeyDeletion"),
    ("kms", "DisableKey"),
    ("lambda", "AddPermission20150331v2"),
    ("lambda", "UpdateFunctionCode20150331v2"),
    ("lambda", "CreateFunction20150331"),
    ("secretsmanager", "GetSecretValue"),
    ("ssm", "GetParameters"),
    ("sts", "AssumeRole"),
    ("sts", "GetSessionToken"),
    ("sts", "GetFederationToken"),
    ("signin", "ConsoleLogin"),
    ("organizations", "LeaveOrganization"),
    ("route53", "DisableDomainAutoRenew"),
    ("route53resolver", "DeleteResolverQueryLogConfig"),
    ("ecs", "RegisterTaskDefinition"),
    ("eks", "CreateCluster"),
    ("rds", "ModifyDBInstance"),
    ("rds", "RestoreDBInstanceFromDBSnapshot"),
    ("elasticache", "CreateCacheSecurityGroup"),
    ("sso", "DeletePermissionSet"),
    ("iam", "ListUsers"),
    ("s3", "ListBuckets"),
    ("ec2", "DescribeInstances"),
    ("iam", "PassRole"),
    ("ses", "UpdateAccountSendingEnabled"),
];

fn rules(indexed: usize, unindexed: usize) -> Arc<RuleSet> {
    let mut texts = Vec::new();
    for i in 0..indexed {
        let (src, name) = WATCHED[i % WATCHED.len()];
        let sel = if i % 10 == 9 {
            // Some rules use a prefix rather than a name.
            format!(
                "    eventSource: {src}.amazonaws.com\n    eventName|startswith: {}\n",
                &name[..4]
            )
        } else {
            format!("    eventSource: {src}.amazonaws.com\n    eventName: {name}\n")
        };
        texts.push(format!(
            "title: r{i}\nid: r{i}\nlevel: medium\ndetection:\n  selection:\n{sel}    errorCode: null\n  filter:\n    userAgent|contains: terraform\n  condition: selection and not filter\n"
        ));
    }
    let loose = [
        "  selection:\n    userIdentity.type: Root\n  condition: selection\n",
        "  selection:\n    userAgent|contains:\n      - kali\n      - parrot\n      - pentoo\n  condition: selection\n",
        "  selection:\n    sourceIPAddress|cidr: 203.0.113.0/24\n  condition: selection\n",
    ];
    for (i, d) in loose.iter().cycle().take(unindexed).enumerate() {
        texts.push(format!(
            "title: u{i}\nid: u{i}\nlevel: high\ndetection:\n{d}"
        ));
    }
    let named: Vec<(String, String)> = texts
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("r{i}.yml"), t))
        .collect();
    let refs: Vec<(&str, &str)> = named
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (b, errors) = refs
        .iter()
        .fold(RuleSet::builder().builtin(), |b, (n, t)| b.yaml(n, t))
        .build();
    assert!(errors.is_empty(), "{errors:?}");
    Arc::new(b)
}

fn day() -> (Vec<Vec<u8>>, u64) {
    let mut bodies = Vec::new();
    generate::<std::io::Error>(
        &SimConfig {
            days: 1,
            events_per_day: 50_000,
            ..SimConfig::default()
        },
        |o| {
            if !o.key.contains("Digest") {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&o.body[..])
                    .read_to_end(&mut plain)
                    .unwrap();
                bodies.push(plain);
            }
            Ok(())
        },
        |_| Ok(()),
    )
    .unwrap();
    let events = bodies
        .iter()
        .map(|b| {
            CtBatch::read(&b[..], &Limits::default())
                .unwrap()
                .events
                .len() as u64
        })
        .sum();
    (bodies, events)
}

fn bench(c: &mut Criterion) {
    let (bodies, events) = day();
    let sets: [(&str, Option<Arc<RuleSet>>); 4] = [
        ("no rule set", None),
        ("built-in thresholds", Some(rules(0, 0))),
        ("60 indexed rules", Some(rules(60, 0))),
        ("57 indexed + 3 unindexed", Some(rules(57, 3))),
    ];
    let mut g = c.benchmark_group("sigma");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    for (name, set) in &sets {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let mut n = 0;
                for body in &bodies {
                    let batch =
                        CtBatch::read_with(&body[..], &Limits::default(), set.clone()).unwrap();
                    n += batch.events.len() + batch.sigma_hits.len();
                }
                black_box(n)
            });
        });
    }
    g.finish();
}

/// The costliest `re` a rule may hold (the largest `[a-z]{n}b` under the size cap)
/// on one event with a 1 MB user agent: what the regex size cap and the matched
/// text bound leave (without them, `[a-z]{100}{100}b` took 157 s on this event).
fn worst_regex(c: &mut Criterion) {
    let rule = |n: usize| {
        format!(
            "title: ua\nid: ua\ndetection:\n  selection:\n    eventName: CreateUser\n    userAgent|re: '[a-z]{{{n}}}b'\n  condition: selection\n"
        )
    };
    let loads = |n: usize| {
        RuleSet::from_yaml_strs(&[("ua.yml", &rule(n))])
            .1
            .is_empty()
    };
    let (mut ok, mut too_big) = (1usize, 1_000_000usize);
    while too_big - ok > 1 {
        let mid = (ok + too_big) / 2;
        if loads(mid) {
            ok = mid;
        } else {
            too_big = mid;
        }
    }
    let (set, _) = RuleSet::from_yaml_strs(&[("ua.yml", &rule(ok))]);
    let record = serde_json::to_vec(&serde_json::json!({
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "userAgent": "a".repeat(1 << 20),
    }))
    .unwrap();
    let mut g = c.benchmark_group("sigma_re");
    g.sample_size(10);
    g.bench_function(format!("[a-z]{{{ok}}}b on a 1 MB user agent"), |b| {
        b.iter(|| black_box(set.matches(&record).unwrap().len()));
    });
    g.finish();
}

criterion_group!(benches, bench, worst_regex);
criterion_main!(benches);
