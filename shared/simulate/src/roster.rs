//! The machine principals of the account, each with its role, addresses, client and
//! share of the traffic, after the people of `people`.

use super::agents::{self};
use super::identity::{Origin, RoleSession, assumed_role, aws_service, iam_user};
use super::ids::{SimRng, hex, iam_id, lower, stream};
use super::people::{PEOPLE, person};
use super::population::{Class, Kind, Principal, aws_ip, ip_in};
use super::world::Resources;
use rand::Rng;

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

/// Builds the principals of the organisation whose streams derive from `org`.
pub(crate) fn population(org: u64, account: &str, res: &Resources) -> Vec<Principal> {
    let mut rng = stream(org, "population", 0);
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
            share: 0.0004,
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
