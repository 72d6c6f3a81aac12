//! People: a working day in their own time zone, mostly on weekdays, from the office
//! or from home, signing in through Identity Center (SAML) or as IAM users with MFA,
//! then browsing the console or running the CLI in short bursts of related calls.

use super::calls::{access_denied, assume_role_with_saml, benign_failure, console_login, login_to};
use super::catalog::{self, APIS, draw};
use super::identity::{Origin, RoleSession, assumed_role, iam_user, saml_user};
use super::ids::{SimRng, iam_id, normal, stream};
use super::normal::{Sink, Who, count};
use super::params::build;
use super::people::{Human, Profile};
use super::population::Principal;
use super::record::Identity;
use super::timefmt::{iso, weekday};
use super::world::World;
use rand::Rng;

/// Records per unit on average (kept in step with [`render`]).
const CALLS_PER_UNIT: f64 = 2.4;
/// The Identity Center SAML provider of the account.
pub(crate) const SSO_PROVIDER: &str = "AWSSSO_5f1c7e2b9a4d3e10_DO_NOT_DELETE";

fn services(profile: Profile) -> &'static [(&'static str, f64)] {
    use catalog::*;
    match profile {
        Profile::Admin => &[
            (EC2, 30.0),
            (IAM, 15.0),
            (S3, 12.0),
            (CW, 8.0),
            (LOGS, 6.0),
            (LAMBDA, 6.0),
            (RDS, 5.0),
            (ECS, 6.0),
            (CFN, 4.0),
            (R53, 3.0),
            (TRAIL, 2.0),
            (KMS, 2.0),
            (ELB, 4.0),
            (ASG, 3.0),
            (SSM, 2.0),
            (SECRETS, 1.0),
            (STS, 1.0),
        ],
        Profile::Developer => &[
            (LAMBDA, 20.0),
            (LOGS, 20.0),
            (CW, 10.0),
            (ECS, 10.0),
            (ECR, 4.0),
            (DDB, 8.0),
            (S3, 8.0),
            (EC2, 6.0),
            (SSM, 5.0),
            (SQS, 3.0),
            (STS, 2.0),
            (SECRETS, 2.0),
            (CFN, 3.0),
        ],
        Profile::Data => &[
            (ATHENA, 30.0),
            (GLUE, 20.0),
            (S3, 20.0),
            (CW, 5.0),
            (LOGS, 5.0),
            (DDB, 5.0),
            (LAMBDA, 3.0),
            (STS, 1.0),
            (RDS, 5.0),
        ],
        Profile::Security => &[
            (GD, 15.0),
            (HUB, 12.0),
            (IAM, 20.0),
            (TRAIL, 12.0),
            (CONFIG, 8.0),
            (S3, 8.0),
            (EC2, 8.0),
            (KMS, 4.0),
            (LOGS, 4.0),
            (ORGS, 1.0),
            (STS, 1.0),
        ],
    }
}

/// Unit times of one person's local day starting at UTC midnight `day_start`.
pub(crate) fn plan(p: &Principal, day_start: i64, target: f64, rng: &mut SimRng) -> Vec<i64> {
    let Some(h) = p.human.as_deref() else {
        return Vec::new();
    };
    let weekend = weekday(day_start) >= 5;
    let p_active = if weekend { 0.1 } else { 0.93 };
    if !rng.random_bool(p_active) {
        return Vec::new();
    }
    let (start, end) = if weekend {
        let s = normal(rng, 11.0, 1.5);
        (s, s + rng.random_range(0.5..3.0))
    } else {
        (normal(rng, 9.0, 0.6), normal(rng, 17.8, 0.8))
    };
    let n = count(rng, target / p_active / CALLS_PER_UNIT).max(1);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let local = rng.random_range(start..end.max(start + 0.25));
        // Fewer calls over lunch.
        if (12.0..13.0).contains(&local) && rng.random_bool(0.6) {
            continue;
        }
        out.push(day_start + (local * 3600.0) as i64 - h.tz_min * 60);
    }
    out
}

/// Where and how a person works on one local day.
struct Day {
    home: bool,
    console: Identity,
    cli: Identity,
    login: Identity,
}

fn day(world: &World, pi: usize, h: &Human, name: &str, day_start: i64, first: i64) -> Day {
    let mut rng = stream(
        world.seed,
        "human-day",
        ((pi as u64) << 40) ^ day_start as u64,
    );
    let home = rng.random_bool(h.wfh);
    let created = iso(first);
    let acct = world.account.as_str();
    let console_key = iam_id(&mut rng, "ASIA");
    let cli_key = iam_id(&mut rng, "ASIA");
    if h.sso {
        let role = |key: &str| {
            assumed_role(&RoleSession {
                account: acct,
                path: "/aws-reserved/sso.amazonaws.com/",
                role: &h.permission_set,
                aroa: &h.aroa,
                session: &h.email,
                key,
                created: &created,
                mfa: false,
                origin: Origin::Plain,
            })
        };
        let mut login = role("");
        login.access_key_id = None;
        Day {
            home,
            console: role(&console_key),
            cli: role(&cli_key),
            login,
        }
    } else {
        let mut login = iam_user(acct, name, &h.aida, "", None);
        login.access_key_id = None;
        Day {
            home,
            console: iam_user(acct, name, &h.aida, &console_key, Some((&created, h.mfa))),
            cli: iam_user(acct, name, &h.aida, &h.akia, None),
            login,
        }
    }
}

/// The user agent and address a console page uses for calls to `source`.
fn console_client<'a>(source: &str, h: &'a Human, ip: &'a str) -> (&'a str, &'a str) {
    match source {
        catalog::IAM | catalog::ORGS => ("AWS Internal", "AWS Internal"),
        catalog::EC2 => (ip, "console.ec2.amazonaws.com"),
        catalog::S3 => (
            ip,
            "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217-183.860.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]",
        ),
        _ => (ip, h.browser.as_str()),
    }
}

/// Renders unit `k` (at `t`) of a person's local day; unit 0 signs in first.
#[expect(
    clippy::too_many_arguments,
    reason = "one unit needs its whole context"
)]
pub(crate) fn render(
    world: &World,
    pi: usize,
    p: &Principal,
    day_start: i64,
    k: usize,
    t: i64,
    first: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    let Some(h) = p.human.as_deref() else {
        return Ok(());
    };
    let d = day(world, pi, h, &p.name, day_start, first);
    let ip: &str = if d.home {
        &h.home_ip
    } else {
        &h.office_ips[k % h.office_ips.len()]
    };
    let region_idx = if rng.random_bool(0.8) {
        0
    } else {
        world.weighted_region(rng)
    };
    let region = world.region(region_idx).to_owned();
    let mut t = t;
    if k == 0 {
        let to = login_to(rng, &region);
        if h.sso {
            let saml = saml_user(SSO_PROVIDER, &h.email);
            let role_arn = format!(
                "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{}",
                world.account, h.permission_set
            );
            let call =
                assume_role_with_saml(rng, &world.account, &role_arn, SSO_PROVIDER, &h.email, t);
            sink.push(
                t,
                &region,
                &Who {
                    identity: &saml,
                    ip,
                    ua: &h.browser,
                    console: false,
                    vpce: None,
                },
                &call,
                rng,
            )?;
            t += rng.random_range(1..4);
        } else if rng.random_bool(0.05) {
            // A mistyped password now and then.
            let call = console_login(false, false, &to);
            sink.push(
                t,
                &region,
                &Who {
                    identity: &d.login,
                    ip,
                    ua: &h.browser,
                    console: false,
                    vpce: None,
                },
                &call,
                rng,
            )?;
            t += rng.random_range(5..30);
        }
        let call = console_login(true, h.mfa && !h.sso, &to);
        sink.push(
            t,
            &region,
            &Who {
                identity: &d.login,
                ip,
                ua: &h.browser,
                console: false,
                vpce: None,
            },
            &call,
            rng,
        )?;
        t += rng.random_range(2..10);
    }
    let console_share = match h.profile {
        Profile::Admin | Profile::Security => 0.6,
        Profile::Developer => 0.5,
        Profile::Data => 0.7,
    };
    let console = rng.random_bool(console_share);
    let svc_weights: Vec<f64> = services(h.profile).iter().map(|s| s.1).collect();
    let source = services(h.profile)[super::ids::pick_weighted(rng, &svc_weights)].0;
    let (reads, writes) = catalog::service_mix(source);
    let stop = if console { 0.35 } else { 0.6 };
    let mut n = 1;
    while n < 12 && !rng.random_bool(stop) {
        n += 1;
    }
    let p_write = match h.profile {
        Profile::Admin => 0.08,
        Profile::Developer => 0.05,
        Profile::Data => 0.02,
        Profile::Security => 0.0,
    };
    let write = !writes.is_empty() && rng.random_bool(p_write);
    let identity = if console { &d.console } else { &d.cli };
    let arn = identity.arn.clone().unwrap_or_default();
    for i in 0..n + usize::from(write) {
        let api = if i == n {
            draw(rng, &writes)
        } else if reads.is_empty() {
            draw(rng, &[(0, 1.0)])
        } else {
            draw(rng, &reads)
        };
        let mut call = build(world, &region, api, t, rng);
        let roll: f64 = rng.random();
        if roll < 0.015 {
            let (code, msg) = access_denied(call.source, call.name, &arn);
            call = call.fail(&code, msg);
        } else if roll < 0.025 {
            let (code, msg) = benign_failure(&call, rng);
            call = call.fail(&code, msg);
        }
        let (cip, cua) = if console {
            console_client(APIS[api].source, h, ip)
        } else {
            (ip, h.cli.as_str())
        };
        let who = Who {
            identity,
            ip: cip,
            ua: cua,
            console,
            vpce: None,
        };
        sink.push(t, &region, &who, &call, rng)?;
        t += rng.random_range(0..if console { 3 } else { 8 });
    }
    Ok(())
}
