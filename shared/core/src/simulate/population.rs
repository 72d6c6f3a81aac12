//! Who acts in the simulated account: ten people, workloads, CI pipelines, a
//! monitoring vendor, AWS services and a few odd integrations. Each principal has a
//! stable identity, a stable set of source addresses and clients, and a share of the
//! day's traffic.

use super::agents::{self, AWS_IPS, browser, cli};
use super::identity::{Origin, RoleSession, assumed_role, aws_service, iam_user};
use super::ids::{SimRng, hex, iam_id, lower, stream};
use super::record::Identity;
use super::timefmt::iso;
use super::world::Resources;
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

/// What a person mostly works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    Admin,
    Developer,
    Data,
    Security,
}

/// A person's habits.
#[derive(Debug, Clone)]
pub(crate) struct Human {
    pub email: String,
    /// Offset of local time from UTC, minutes.
    pub tz_min: i64,
    pub profile: Profile,
    /// Signs in through IAM Identity Center (else as an IAM user).
    pub sso: bool,
    pub mfa: bool,
    pub permission_set: String,
    pub office_ips: Vec<String>,
    pub home_ip: String,
    pub browser: String,
    pub cli: String,
    /// Chance of working from home on a given day.
    pub wfh: f64,
    pub aroa: String,
    pub aida: String,
    pub akia: String,
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

fn ip_in(rng: &mut SimRng, firsts: &[u8]) -> String {
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

const PEOPLE: &[(&str, Profile, bool, bool, i64)] = &[
    // name, profile, sso, mfa, tz offset (minutes)
    ("alice.martin", Profile::Admin, true, true, -300),
    ("bob.schulz", Profile::Admin, false, true, 60),
    ("carol.nguyen", Profile::Developer, true, true, -480),
    ("dave.okafor", Profile::Developer, true, true, -300),
    ("erin.rossi", Profile::Developer, true, true, 60),
    ("frank.wilson", Profile::Developer, false, true, 0),
    ("grace.kim", Profile::Data, true, true, -300),
    ("heidi.larsen", Profile::Data, true, true, 60),
    ("ivan.petrov", Profile::Security, true, true, -300),
    ("judy.contractor", Profile::Developer, false, false, 120),
];

/// US and EU office NAT addresses.
pub(crate) const OFFICE_US: [&str; 2] = ["198.51.100.14", "198.51.100.15"];
pub(crate) const OFFICE_EU: [&str; 2] = ["203.0.113.40", "203.0.113.41"];

fn person(rng: &mut SimRng, account: &str, spec: &(&str, Profile, bool, bool, i64)) -> Principal {
    let (name, profile, sso, mfa, tz_min) = *spec;
    let permission_set = match profile {
        Profile::Admin => "AdministratorAccess",
        Profile::Developer => "PowerUserAccess",
        Profile::Data => "DataAnalyst",
        Profile::Security => "SecurityAudit",
    };
    let offices: &[&str] = if tz_min < -120 {
        &OFFICE_US
    } else {
        &OFFICE_EU
    };
    let home_ip = if rng.random_bool(0.3) {
        format!(
            "2a02:{:x}:{:x}:{:x}::{:x}",
            rng.random_range(0x1000..0x9fff_u32),
            rng.random_range(1..0xffff_u32),
            rng.random_range(1..0xffff_u32),
            rng.random_range(1..0xfff_u32)
        )
    } else {
        ip_in(rng, &[24, 67, 73, 76, 86, 92, 98, 108, 174, 178, 188])
    };
    let human = Human {
        email: format!("{name}@acme.example"),
        tz_min,
        profile,
        sso,
        mfa,
        permission_set: format!("AWSReservedSSO_{permission_set}_{}", hex(rng, 16)),
        office_ips: offices.iter().map(|s| (*s).to_owned()).collect(),
        home_ip,
        browser: browser(rng).to_owned(),
        cli: cli(rng).to_owned(),
        wfh: rng.random_range(0.15..0.6),
        aroa: iam_id(rng, "AROA"),
        aida: iam_id(rng, "AIDA"),
        akia: iam_id(rng, "AKIA"),
    };
    let intensity = match profile {
        Profile::Admin => 1.3,
        Profile::Developer if !mfa => 0.5,
        Profile::Developer => 1.0,
        Profile::Data => 0.8,
        Profile::Security => 0.7,
    };
    let identity = if sso {
        Identity::default()
    } else {
        iam_user(account, name, &human.aida, &human.akia, None)
    };
    Principal {
        name: name.to_owned(),
        kind: Kind::Human,
        class: Class::Human,
        share: 0.14 * intensity / 9.6,
        identity,
        human: Some(Box::new(human)),
        iam_user: (!sso).then(|| name.to_owned()),
        ips: Vec::new(),
        uas: Vec::new(),
        vpce: None,
        mix: Vec::new(),
        session_secs: 0,
    }
}

struct Spec<'a> {
    name: &'a str,
    kind: Kind,
    class: Class,
    share: f64,
    role: Option<(&'a str, &'a str, &'a str, Origin<'a>)>,
    ips: Vec<String>,
    uas: Vec<String>,
    vpce: bool,
    mix: &'a [(&'a str, f64)],
    session_secs: i64,
}

fn machine(rng: &mut SimRng, account: &str, spec: Spec<'_>) -> Principal {
    let identity = match spec.role {
        Some((path, role, session, origin)) => {
            let aroa = iam_id(rng, "AROA");
            assumed_role(&RoleSession {
                account,
                path,
                role,
                aroa: &aroa,
                session,
                key: "",
                created: "",
                mfa: false,
                origin,
            })
        }
        None => aws_service(spec.name),
    };
    Principal {
        name: spec.name.to_owned(),
        kind: spec.kind,
        class: spec.class,
        share: spec.share,
        identity,
        human: None,
        iam_user: None,
        ips: spec.ips,
        uas: spec.uas,
        vpce: spec.vpce.then(|| format!("vpce-0{}", hex(rng, 16))),
        mix: super::catalog::resolve(spec.mix),
        session_secs: spec.session_secs,
    }
}

/// Builds the account's principals for run `seed`.
pub(crate) fn population(
    seed: u64,
    account: &str,
    regions: &[String],
    res: &Resources,
) -> Vec<Principal> {
    let mut rng = stream(seed, "population", 0);
    let _ = regions;
    let mut out: Vec<Principal> = PEOPLE
        .iter()
        .map(|p| person(&mut rng, account, p))
        .collect();
    let private = |rng: &mut SimRng, n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                format!(
                    "10.10.{}.{}",
                    rng.random_range(0..32),
                    rng.random_range(4..250)
                )
            })
            .collect()
    };
    let public =
        |rng: &mut SimRng, n: usize| -> Vec<String> { (0..n).map(|_| aws_ip(rng)).collect() };
    let api_task = lower(&mut rng, 32);
    let worker_task = lower(&mut rng, 32);
    let fn_orders = res.functions.first().cloned().unwrap_or_default();
    let fn_reports = res.functions.get(3).cloned().unwrap_or_default();
    let specs = vec![
        Spec {
            name: "app-api-task",
            kind: Kind::Workload,
            class: Class::Workload,
            share: 0.11,
            role: Some(("/", "app-api-task", &api_task, Origin::Plain)),
            ips: private(&mut rng, 6),
            uas: vec![agents::GO_SDK.into()],
            vpce: true,
            mix: agents::MIX_API,
            session_secs: 6 * 3600,
        },
        Spec {
            name: "app-worker-task",
            kind: Kind::Workload,
            class: Class::Workload,
            share: 0.08,
            role: Some(("/", "app-worker-task", &worker_task, Origin::Plain)),
            ips: public(&mut rng, 2),
            uas: vec![agents::JAVA_SDK.into()],
            vpce: false,
            mix: agents::MIX_WORKER,
            session_secs: 6 * 3600,
        },
        Spec {
            name: "lambda-orders",
            kind: Kind::Workload,
            class: Class::Workload,
            share: 0.07,
            role: Some(("/", "lambda-orders", &fn_orders, Origin::Plain)),
            ips: public(&mut rng, 40),
            uas: vec![agents::NODE_LAMBDA.into()],
            vpce: false,
            mix: agents::MIX_ORDERS,
            session_secs: 3 * 3600,
        },
        Spec {
            name: "lambda-reports",
            kind: Kind::Workload,
            class: Class::Workload,
            share: 0.04,
            role: Some(("/", "lambda-reports", &fn_reports, Origin::Plain)),
            ips: public(&mut rng, 30),
            uas: vec![agents::PY_LAMBDA.into()],
            vpce: false,
            mix: agents::MIX_REPORTS,
            session_secs: 3 * 3600,
        },
        Spec {
            name: "ec2-app-instance",
            kind: Kind::SsmAgent,
            class: Class::Machine,
            share: 0.10,
            role: Some(("/", "ec2-app-instance", "i-0", Origin::InstanceProfile)),
            ips: Vec::new(),
            uas: vec![agents::SSM_AGENT.into()],
            vpce: true,
            mix: &[],
            session_secs: 6 * 3600,
        },
        Spec {
            name: "DatadogIntegrationRole",
            kind: Kind::Monitor,
            class: Class::Machine,
            share: 0.13,
            role: Some((
                "/",
                "DatadogIntegrationRole",
                "datadog-aws-integration",
                Origin::Plain,
            )),
            ips: public(&mut rng, 6),
            uas: vec![agents::VENDOR.into()],
            vpce: false,
            mix: agents::MIX_MONITOR,
            session_secs: 3600,
        },
        Spec {
            name: "github-actions-terraform",
            kind: Kind::Terraform,
            class: Class::Ci,
            share: 0.08,
            role: Some((
                "/",
                "github-actions-terraform",
                "GitHubActions",
                Origin::WebIdentity(""),
            )),
            ips: (0..40)
                .map(|_| ip_in(&mut rng, &[4, 13, 20, 40, 52]))
                .collect(),
            uas: vec![agents::TERRAFORM.into()],
            vpce: false,
            mix: agents::MIX_TERRAFORM,
            session_secs: 0,
        },
        Spec {
            name: "codebuild-deploy",
            kind: Kind::Deploy,
            class: Class::Ci,
            share: 0.03,
            role: Some((
                "/service-role/",
                "codebuild-deploy",
                "AWSCodeBuild-",
                Origin::Plain,
            )),
            ips: public(&mut rng, 1),
            uas: vec![agents::CODEBUILD.into()],
            vpce: false,
            mix: &[],
            session_secs: 0,
        },
        Spec {
            name: "backup-automation",
            kind: Kind::Backup,
            class: Class::Ci,
            share: 0.01,
            role: Some(("/", "backup-automation", "backup-automation", Origin::Plain)),
            ips: public(&mut rng, 12),
            uas: vec![agents::PY_LAMBDA.into()],
            vpce: false,
            mix: &[],
            session_secs: 3600,
        },
        Spec {
            name: "svc-reporting-portal",
            kind: Kind::Portal,
            class: Class::Workload,
            share: 0.025,
            role: None,
            ips: public(&mut rng, 1),
            uas: vec![agents::PORTAL.into()],
            vpce: false,
            mix: &[],
            session_secs: 0,
        },
        Spec {
            name: "dr-backup-reader",
            kind: Kind::DrReader,
            class: Class::Machine,
            share: 0.005,
            role: Some(("/", "dr-backup-reader", "dr-sync", Origin::Plain)),
            ips: public(&mut rng, 1),
            uas: vec![agents::PY_SCRIPT.into()],
            vpce: false,
            mix: &[],
            session_secs: 3600,
        },
        Spec {
            name: "svc-backup-onprem",
            kind: Kind::OnPrem,
            class: Class::Machine,
            share: 0.005,
            role: None,
            ips: vec!["192.0.2.10".into()],
            uas: vec![agents::OLD_CLI.into()],
            vpce: false,
            mix: &[],
            session_secs: 0,
        },
        Spec {
            name: "config.amazonaws.com",
            kind: Kind::Config,
            class: Class::Service,
            share: 0.06,
            role: Some((
                "/aws-service-role/config.amazonaws.com/",
                "AWSServiceRoleForConfig",
                "AWSConfig-Describe",
                Origin::Service("config.amazonaws.com"),
            )),
            ips: vec!["config.amazonaws.com".into()],
            uas: vec!["config.amazonaws.com".into()],
            vpce: false,
            mix: agents::MIX_CONFIG,
            session_secs: 3600,
        },
        Spec {
            name: "autoscaling.amazonaws.com",
            kind: Kind::AutoScaling,
            class: Class::Service,
            share: 0.01,
            role: Some((
                "/aws-service-role/autoscaling.amazonaws.com/",
                "AWSServiceRoleForAutoScaling",
                "AutoScaling",
                Origin::Service("autoscaling.amazonaws.com"),
            )),
            ips: vec!["autoscaling.amazonaws.com".into()],
            uas: vec!["autoscaling.amazonaws.com".into()],
            vpce: false,
            mix: &[],
            session_secs: 3600,
        },
        Spec {
            name: "trustedadvisor.amazonaws.com",
            kind: Kind::TrustedAdvisor,
            class: Class::Service,
            share: 0.02,
            role: Some((
                "/aws-service-role/trustedadvisor.amazonaws.com/",
                "AWSServiceRoleForTrustedAdvisor",
                "TrustedAdvisor_refresh",
                Origin::Service("trustedadvisor.amazonaws.com"),
            )),
            ips: vec!["trustedadvisor.amazonaws.com".into()],
            uas: vec!["trustedadvisor.amazonaws.com".into()],
            vpce: false,
            mix: agents::MIX_ADVISOR,
            session_secs: 3600,
        },
        Spec {
            name: "service-assume-role",
            kind: Kind::ServiceAssume,
            class: Class::Service,
            share: 0.06,
            role: None,
            ips: Vec::new(),
            uas: Vec::new(),
            vpce: false,
            mix: &[],
            session_secs: 0,
        },
        Spec {
            name: "service-events",
            kind: Kind::ServiceEvents,
            class: Class::Service,
            share: 0.002,
            role: None,
            ips: Vec::new(),
            uas: Vec::new(),
            vpce: false,
            mix: &[],
            session_secs: 0,
        },
    ];
    for spec in specs {
        let mut p = machine(&mut rng, account, spec);
        fix_up(&mut p, account, &mut rng);
        out.push(p);
    }
    out
}

/// Per-kind identity details that the generic constructor cannot know.
fn fix_up(p: &mut Principal, account: &str, rng: &mut SimRng) {
    match p.kind {
        Kind::Terraform => {
            if let Some(web) = p
                .identity
                .session_context
                .as_mut()
                .and_then(|c| c.web_id_federation_data.as_mut())
            {
                web.federated_provider = Some(format!(
                    "arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
                ));
            }
        }
        Kind::Portal | Kind::OnPrem => {
            let aida = iam_id(rng, "AIDA");
            let akia = iam_id(rng, "AKIA");
            p.identity = iam_user(account, &p.name, &aida, &akia, None);
            p.iam_user = Some(p.name.clone());
        }
        _ => {}
    }
}
