//! Who acts in the simulated account: people, workloads, CI pipelines, a monitoring
//! vendor, AWS services and a few odd integrations. Each principal has a stable
//! identity, a stable set of source addresses and clients, and a share of the day's
//! traffic. The roster itself is built in `people` and `roster`.

use super::agents::AWS_IPS;
use super::ids::{SimRng, iam_id, stream};
use super::people::Human;
use super::record::Identity;
use super::timefmt::iso;
use rand::Rng;

/// Traffic class; its share of a day's events follows the day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Human,
    Workload,
    Machine,
    Ci,
    Service,
}

impl Class {
    /// Relative volume on a weekday (0..5) or weekend day.
    pub fn day_factor(self, weekday: u32) -> f64 {
        let weekend = weekday >= 5;
        match (self, weekend) {
            (Class::Human, true) => 0.06,
            (Class::Ci, true) => 0.3,
            (Class::Workload, true) => 0.75,
            _ => 1.0,
        }
    }
}

/// The role each non-human principal plays; it decides when and how it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Human,
    /// An application role (ECS task or Lambda function).
    Workload,
    /// Instance-profile sessions of the SSM agent on each instance.
    SsmAgent,
    /// The monitoring vendor's cross-account integration role.
    Monitor,
    /// Terraform in GitHub Actions through OIDC.
    Terraform,
    /// CodeBuild deploying containers and functions.
    Deploy,
    /// Nightly snapshot automation.
    Backup,
    /// A reporting portal handing out federated sessions.
    Portal,
    /// The DR account reading snapshots nightly.
    DrReader,
    /// A legacy on-premises backup job with a long-term key.
    OnPrem,
    Config,
    AutoScaling,
    TrustedAdvisor,
    /// `sts:AssumeRole` by lambda, ec2 or ecs-tasks service principals.
    ServiceAssume,
    /// `AwsServiceEvent` records (key rotation, secret rotation).
    ServiceEvents,
}

/// One principal of the account.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub name: String,
    pub kind: Kind,
    pub class: Class,
    /// Share of a weekday's events.
    pub share: f64,
    pub identity: Identity,
    pub human: Option<Box<Human>>,
    /// The IAM user name when the principal is one.
    pub iam_user: Option<String>,
    pub ips: Vec<String>,
    pub uas: Vec<String>,
    /// Interface endpoint its private calls go through.
    pub vpce: Option<String>,
    /// Calls it makes, as catalogue indices with weights.
    pub mix: Vec<(usize, f64)>,
    /// Lifetime of its temporary credentials; 0 for long-term keys.
    pub session_secs: i64,
}

impl Principal {
    /// The identity for a call at `t`: role sessions get a key and creation date per
    /// credential lifetime, so one stolen key is one session, as in real accounts.
    pub fn session(&self, seed: u64, index: usize, t: i64) -> Identity {
        let mut id = self.identity.clone();
        if self.session_secs <= 0 {
            return id;
        }
        let block = t.div_euclid(self.session_secs);
        let mut rng = stream(seed, "session", ((index as u64) << 32) ^ block as u64);
        id.access_key_id = Some(iam_id(&mut rng, "ASIA"));
        if let Some(ctx) = id.session_context.as_mut() {
            ctx.attributes.creation_date =
                iso(block * self.session_secs - rng.random_range(0..900));
        }
        id
    }

    /// Its role name when it is a role session.
    pub fn role_name(&self) -> Option<&str> {
        self.identity
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .map(|i| i.user_name.as_str())
    }
}

pub(crate) fn ip_in(rng: &mut SimRng, firsts: &[u8]) -> String {
    let a = firsts[rng.random_range(0..firsts.len())];
    format!(
        "{a}.{}.{}.{}",
        rng.random_range(0..256),
        rng.random_range(0..256),
        rng.random_range(1..255)
    )
}

/// Public addresses AWS-hosted clients appear from (Lambda, NAT gateways, vendors).
pub(crate) fn aws_ip(rng: &mut SimRng) -> String {
    ip_in(rng, AWS_IPS)
}
