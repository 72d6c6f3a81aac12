//! The simulated account: its regions, the resources its principals touch (buckets,
//! functions, keys, instances, snapshots…) and the principals themselves. They derive
//! from the account id, not the run's seed: runs with different seeds are different
//! weeks of the same organisation (same people, roles, addresses and resources), so
//! a model trained on one run can be tested on another.

use super::ids::{SimRng, alnum, hex, lower, pick, stream, uuid4};
use super::population::Principal;
use super::roster::population;
use rand::Rng;

/// The organisation's own disaster-recovery account (a trusted share target).
pub(crate) const DR_ACCOUNT: &str = "210987654321";
/// The attacker-controlled account used by exfiltration and backdoor scenarios.
pub(crate) const EXTERNAL_ACCOUNT: &str = "999999999999";
/// The monitoring vendor's account that assumes an integration role.
pub(crate) const VENDOR_ACCOUNT: &str = "464622532012";
/// The name CloudTrail's trail and its bucket carry.
pub(crate) const TRAIL: &str = "management-events";

/// An EC2 instance with its region (index into [`World::regions`]) and private address.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    pub region: usize,
    pub private_ip: String,
    pub az: String,
}

/// Named resources of the account.
#[derive(Debug, Clone)]
pub(crate) struct Resources {
    pub buckets: Vec<String>,
    /// The bucket whose object access the trail records (data events).
    pub data_bucket: String,
    pub artifact_bucket: String,
    pub trail_bucket: String,
    pub functions: Vec<String>,
    pub tables: Vec<String>,
    pub params: Vec<String>,
    pub secrets: Vec<String>,
    pub keys: Vec<String>,
    pub instances: Vec<Instance>,
    pub volumes: Vec<String>,
    pub snapshots: Vec<String>,
    pub amis: Vec<String>,
    pub security_groups: Vec<String>,
    pub vpcs: Vec<String>,
    pub subnets: Vec<String>,
    pub dbs: Vec<String>,
    pub services: Vec<String>,
    pub repos: Vec<String>,
    pub roles: Vec<String>,
    pub zones: Vec<String>,
    pub detector_id: String,
    pub trail_key_fingerprint: String,
}

/// Everything a generator needs to know about the account.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// The run's seed (activity).
    pub seed: u64,
    /// Seed of the organisation's own streams, from the account id.
    pub org: u64,
    pub account: String,
    /// Regions in use; the first is the primary one.
    pub regions: Vec<String>,
    pub region_weights: Vec<f64>,
    pub res: Resources,
    pub principals: Vec<Principal>,
}

impl World {
    /// Builds the account for a run.
    pub fn new(seed: u64, account: &str, regions: &[String]) -> Self {
        let regions = effective_regions(regions);
        // The primary region takes most traffic, the rest fall off quickly.
        let region_weights = (0..regions.len())
            .map(|i| match i {
                0 => 0.70,
                1 => 0.18,
                2 => 0.08,
                _ => 0.04 / (i as f64 - 2.0),
            })
            .collect::<Vec<_>>();
        let org = account.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut rng = stream(org, "resources", 0);
        let res = resources(&mut rng, &regions);
        let principals = population(org, account, &res);
        Self {
            seed,
            org,
            account: account.to_owned(),
            regions,
            region_weights,
            res,
            principals,
        }
    }

    /// Region name by index (the primary region for an out-of-range index).
    pub fn region(&self, i: usize) -> &str {
        self.regions
            .get(i)
            .or_else(|| self.regions.first())
            .map_or("us-east-1", String::as_str)
    }

    /// A region drawn by traffic weight.
    pub fn weighted_region(&self, rng: &mut SimRng) -> usize {
        super::ids::pick_weighted(rng, &self.region_weights)
    }

    /// `arn:aws:iam::<acct>:role/<name>`.
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }

    /// A KMS key ARN in `region`.
    pub fn key_arn(&self, region: &str, key: &str) -> String {
        format!("arn:aws:kms:{region}:{}:key/{key}", self.account)
    }

    /// A Secrets Manager secret ARN in `region`.
    pub fn secret_arn(&self, region: &str, secret: &str) -> String {
        format!(
            "arn:aws:secretsmanager:{region}:{}:secret:{secret}",
            self.account
        )
    }

    /// A Lambda function ARN in `region`.
    pub fn function_arn(&self, region: &str, function: &str) -> String {
        format!(
            "arn:aws:lambda:{region}:{}:function:{function}",
            self.account
        )
    }
}

/// The configured regions, with us-east-1 added: CloudTrail records global services
/// (IAM, sign-in, Organizations) there whatever regions a workload uses.
fn effective_regions(regions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in regions {
        if !r.is_empty() && !out.contains(r) {
            out.push(r.clone());
        }
    }
    if !out.iter().any(|r| r == "us-east-1") {
        out.push("us-east-1".to_owned());
    }
    out
}

fn names(
    rng: &mut SimRng,
    stems: &[&str],
    n: usize,
    f: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let stem = stems[i % stems.len()];
            let suffix = lower(rng, 6);
            f(stem, &suffix)
        })
        .collect()
}

fn resources(rng: &mut SimRng, regions: &[String]) -> Resources {
    let buckets = names(
        rng,
        &[
            "assets",
            "web-static",
            "logs",
            "backups",
            "data-lake",
            "terraform-state",
            "athena-results",
            "builds",
        ],
        12,
        |s, x| format!("acme-{s}-{x}"),
    );
    let functions = names(
        rng,
        &[
            "orders-api",
            "payments-webhook",
            "thumbnailer",
            "report-builder",
            "user-sync",
            "audit-forwarder",
            "billing-export",
            "search-indexer",
            "email-sender",
            "token-refresh",
        ],
        14,
        |s, x| {
            if x.as_bytes()[0] < b'j' {
                format!("{s}-prod")
            } else {
                format!("{s}-{}", &x[..3])
            }
        },
    );
    let tables = [
        "orders",
        "customers",
        "sessions",
        "payments",
        "inventory",
        "feature-flags",
    ]
    .iter()
    .map(|t| format!("prod-{t}"))
    .collect();
    let mut params = Vec::new();
    for app in ["api", "web", "worker", "billing"] {
        for leaf in [
            "db-host",
            "db-password",
            "redis-url",
            "stripe-key",
            "feature-config",
            "log-level",
        ] {
            params.push(format!("/prod/{app}/{leaf}"));
        }
    }
    params.extend(["/staging/api/db-password", "/shared/datadog-api-key"].map(String::from));
    let secrets = names(
        rng,
        &[
            "prod/rds/master",
            "prod/api/jwt-signing",
            "prod/stripe/api-key",
            "prod/sendgrid/token",
            "prod/github/deploy-key",
            "staging/rds/master",
            "prod/partner/sftp",
            "prod/oauth/client",
        ],
        8,
        |s, _| s.to_owned(),
    )
    .into_iter()
    .map(|s| format!("{s}-{}", alnum(rng, 6)))
    .collect();
    let keys = (0..6).map(|_| uuid4(rng)).collect();
    let instances = (0..14)
        .map(|i| {
            let region = if i < 10 || regions.len() == 1 { 0 } else { 1 };
            let ip = format!(
                "10.{}.{}.{}",
                10 + region,
                rng.random_range(0..64),
                rng.random_range(4..250)
            );
            let az = format!(
                "{}{}",
                regions.get(region).map_or("us-east-1", String::as_str),
                ["a", "b", "c"][i % 3]
            );
            Instance {
                id: format!("i-0{}", hex(rng, 16)),
                region,
                private_ip: ip,
                az,
            }
        })
        .collect();
    let id = |rng: &mut SimRng, p: &str, n: usize| -> Vec<String> {
        (0..n).map(|_| format!("{p}-0{}", hex(rng, 16))).collect()
    };
    let volumes = id(rng, "vol", 16);
    let snapshots = id(rng, "snap", 20);
    let amis = id(rng, "ami", 4);
    let security_groups = id(rng, "sg", 10);
    let vpcs = id(rng, "vpc", 3);
    let subnets = id(rng, "subnet", 8);
    let dbs = ["orders-db", "analytics-db", "auth-db"]
        .map(String::from)
        .to_vec();
    let services = ["api", "web", "worker", "scheduler", "search"]
        .map(String::from)
        .to_vec();
    let repos = ["acme/api", "acme/web", "acme/worker", "acme/base-images"]
        .map(String::from)
        .to_vec();
    let roles = [
        "app-api-task",
        "app-worker-task",
        "lambda-orders",
        "lambda-reports",
        "github-actions-terraform",
        "codebuild-deploy",
        "backup-automation",
        "DatadogIntegrationRole",
        "dr-backup-reader",
        "ec2-app-instance",
        "OrganizationAccountAccessRole",
        "break-glass-admin",
    ]
    .map(String::from)
    .to_vec();
    let zones = (0..3)
        .map(|_| format!("Z0{}", alnum(rng, 18).to_ascii_uppercase()))
        .collect();
    let data_bucket = format!("acme-customer-exports-{}", lower(rng, 6));
    let artifact_bucket = format!("acme-artifacts-{}", lower(rng, 6));
    let trail_bucket = format!("acme-cloudtrail-{}", lower(rng, 6));
    Resources {
        buckets,
        data_bucket,
        artifact_bucket,
        trail_bucket,
        functions,
        tables,
        params,
        secrets,
        keys,
        instances,
        volumes,
        snapshots,
        amis,
        security_groups,
        vpcs,
        subnets,
        dbs,
        services,
        repos,
        roles,
        zones,
        detector_id: hex(rng, 32),
        trail_key_fingerprint: hex(rng, 32),
    }
}

impl Resources {
    /// Any bucket, the data bucket included.
    pub fn any_bucket<'a>(&'a self, rng: &mut SimRng) -> &'a str {
        if rng.random_bool(0.15) {
            &self.data_bucket
        } else {
            pick(rng, &self.buckets).map_or(&self.data_bucket, |s| s.as_str())
        }
    }
}

/// Picks a string from a list, or `""` from an empty one.
pub(crate) fn one<'a>(rng: &mut SimRng, items: &'a [String]) -> &'a str {
    pick(rng, items).map_or("", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_seeds_are_other_weeks_of_the_same_organisation() {
        let regions = vec!["eu-west-1".to_owned()];
        let a = World::new(1, "123456789012", &regions);
        let b = World::new(2, "123456789012", &regions);
        assert_eq!(a.res.buckets, b.res.buckets);
        assert_eq!(a.principals.len(), b.principals.len());
        for (p, q) in a.principals.iter().zip(&b.principals) {
            assert_eq!(p.identity.arn, q.identity.arn, "{}", p.name);
            assert_eq!(
                p.identity.principal_id, q.identity.principal_id,
                "{}",
                p.name
            );
            assert_eq!(p.ips, q.ips, "{}", p.name);
        }
        let c = World::new(1, "210987654321", &regions);
        assert_ne!(a.res.buckets, c.res.buckets);
        assert_eq!(a.regions, ["eu-west-1", "us-east-1"]);
    }
}
