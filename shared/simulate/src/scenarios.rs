//! Placing and rendering scenario instances: when each one happens, who the attacker
//! impersonates, from which infrastructure, and the small step player the scenario
//! scripts share.

use super::agents::ODD_AGENTS;
use super::calls::{access_denied, assume_role_with_saml};
use super::human::SSO_PROVIDER;
use super::identity::{Origin, RoleSession, assumed_role, saml_user};
use super::ids::{SimRng, iam_id, stream};
use super::normal::{Sink, Who};
use super::record::{Call, Event, Identity};
use super::scenario::Scenario;
use super::timefmt::{DAY, iso, weekday};
use super::world::World;
use super::{attacks_access, attacks_data, attacks_evasion, attacks_persistence, benign};
use rand::Rng;
use std::ops::Range;

/// A Linux desktop browser attackers drive the console with.
pub(crate) const ATTACKER_BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";

/// A public address from hosting and anonymising ranges no principal normally uses.
pub(crate) fn attacker_ip(rng: &mut SimRng) -> String {
    match rng.random_range(0..7) {
        0 => format!("185.220.101.{}", rng.random_range(1..255)),
        1 => format!("45.155.205.{}", rng.random_range(1..255)),
        2 => format!("193.142.146.{}", rng.random_range(1..255)),
        3 => format!("91.219.236.{}", rng.random_range(1..255)),
        4 => format!(
            "159.89.{}.{}",
            rng.random_range(0..255),
            rng.random_range(1..255)
        ),
        5 => format!("2a0b:f4c2:2::{:x}", rng.random_range(1..0xffff_u32)),
        _ => format!("5.188.206.{}", rng.random_range(1..255)),
    }
}

/// A caller outside the console.
pub(crate) fn who<'a>(identity: &'a Identity, ip: &'a str, ua: &'a str) -> Who<'a> {
    Who {
        identity,
        ip,
        ua,
        console: false,
        vpce: None,
    }
}

/// A caller in a console session.
pub(crate) fn console<'a>(identity: &'a Identity, ip: &'a str, ua: &'a str) -> Who<'a> {
    Who {
        identity,
        ip,
        ua,
        console: true,
        vpce: None,
    }
}

/// The base identity of principal `name` (its long-term key for IAM users).
pub(crate) fn principal_identity(play: &Play<'_, '_>, name: &str) -> Identity {
    play.world
        .principals
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.identity.clone())
        .unwrap_or_default()
}

/// The CLI user agent person `name` normally uses: careful attackers copy it.
pub(crate) fn victim_cli(play: &Play<'_, '_>, name: &str) -> String {
    play.world
        .principals
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.human.as_deref())
        .map_or_else(|| ODD_AGENTS[0].to_owned(), |h| h.cli.clone())
}

/// `sts:GetCallerIdentity`, the first thing anyone does with new credentials.
pub(crate) fn caller_identity() -> Call {
    Call::new(
        super::catalog::STS,
        "GetCallerIdentity",
        true,
        serde_json::Value::Null,
    )
}

/// A scripting or pentest client.
pub(crate) fn odd_agent(rng: &mut SimRng) -> &'static str {
    ODD_AGENTS[rng.random_range(0..ODD_AGENTS.len())]
}

/// Plays a scenario's steps in order, advancing time between them.
pub(crate) struct Play<'a, 'w> {
    pub world: &'w World,
    pub sink: &'a mut Sink<'w>,
    pub rng: &'a mut SimRng,
    pub t: i64,
    pub region: String,
}

impl Play<'_, '_> {
    /// Records `call` now, then waits a random gap (seconds) from `gap`.
    pub fn step(
        &mut self,
        who: &Who<'_>,
        call: &Call,
        gap: Range<i64>,
    ) -> Result<(), serde_json::Error> {
        let region = self.region.clone();
        self.sink.push(self.t, &region, who, call, self.rng)?;
        self.t += if gap.is_empty() {
            gap.start
        } else {
            self.rng.random_range(gap)
        };
        Ok(())
    }

    /// Records `call` in another region.
    pub fn step_in(
        &mut self,
        region: &str,
        who: &Who<'_>,
        call: &Call,
        gap: Range<i64>,
    ) -> Result<(), serde_json::Error> {
        self.sink.push(self.t, region, who, call, self.rng)?;
        self.t += if gap.is_empty() {
            gap.start
        } else {
            self.rng.random_range(gap)
        };
        Ok(())
    }

    /// `call`, denied for `identity`.
    pub fn denied(call: Call, identity: &Identity) -> Call {
        let arn = identity.arn.clone().unwrap_or_default();
        let (code, msg) = access_denied(call.source, call.name, &arn);
        call.fail(&code, msg)
    }

    /// A fresh Identity Center session of person `name`, obtained by signing in from
    /// `ip` (phished or legitimate); records the `AssumeRoleWithSAML`.
    pub fn sso_sign_in(
        &mut self,
        name: &str,
        ip: &str,
        ua: &str,
    ) -> Result<Identity, serde_json::Error> {
        let world = self.world;
        let Some(h) = world
            .principals
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.human.as_deref())
        else {
            return Ok(Identity::default());
        };
        let role_arn = format!(
            "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{}",
            world.account, h.permission_set
        );
        let saml = saml_user(SSO_PROVIDER, &h.email);
        let call = assume_role_with_saml(
            self.rng,
            &world.account,
            &role_arn,
            SSO_PROVIDER,
            &h.email,
            self.t,
        );
        let created = iso(self.t);
        self.step(
            &Who {
                identity: &saml,
                ip,
                ua,
                console: false,
                vpce: None,
            },
            &call,
            2..8,
        )?;
        let key = iam_id(self.rng, "ASIA");
        Ok(assumed_role(&RoleSession {
            account: &world.account,
            path: "/aws-reserved/sso.amazonaws.com/",
            role: &h.permission_set,
            aroa: &h.aroa,
            session: &h.email,
            key: &key,
            created: &created,
            mfa: false,
            origin: Origin::Plain,
        }))
    }

    /// A role session of principal `name` as it exists at the current time (same key
    /// as its own traffic when its credentials rotate on a schedule), else a fresh one.
    pub fn role_session(&mut self, name: &str) -> Identity {
        let t = self.t;
        let world = self.world;
        let seed = world.seed;
        match world
            .principals
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
        {
            Some((i, p)) if p.session_secs > 0 => p.session(seed, i, t),
            Some((_, p)) => {
                let mut id = p.identity.clone();
                id.access_key_id = Some(iam_id(self.rng, "ASIA"));
                if let Some(ctx) = id.session_context.as_mut() {
                    ctx.attributes.creation_date = iso(t - self.rng.random_range(600..2400));
                }
                id
            }
            None => Identity::default(),
        }
    }
}

/// When an instance starts: attacks any time, hard negatives in working hours.
fn start_time(s: Scenario, rng: &mut SimRng, span: (i64, i64)) -> i64 {
    let days = ((span.1 - span.0) / DAY).max(1);
    if s.is_attack() {
        let latest = (span.1 - 4 * 3600).max(span.0 + 1);
        return rng.random_range(span.0..latest);
    }
    let weekdays: Vec<i64> = (0..days)
        .filter(|d| weekday(span.0 + d * DAY) < 5)
        .collect();
    let day = if weekdays.is_empty() {
        rng.random_range(0..days)
    } else {
        weekdays[rng.random_range(0..weekdays.len())]
    };
    let hours = match s {
        Scenario::BenignDrSnapshotShare => 21.0..22.5,
        Scenario::BenignTerraformApply => 15.0..20.0,
        _ => 14.0..19.5,
    };
    span.0 + day * DAY + (rng.random_range(hours) * 3600.0) as i64
}

/// Renders instance `n` of scenario `s`: its records, labelled and clipped to `span`.
pub(crate) fn render(
    world: &World,
    s: Scenario,
    n: usize,
    span: (i64, i64),
) -> Result<Vec<Event>, serde_json::Error> {
    let mut rng = stream(world.seed, s.name(), n as u64);
    let t = start_time(s, &mut rng, span);
    let mut sink = Sink::new(world, span.0, span.1, s.label(), s.name());
    sink.unit((1 << 47) | ((s as u64) << 32) | n as u64);
    let region = world.region(0).to_owned();
    let mut play = Play {
        world,
        sink: &mut sink,
        rng: &mut rng,
        t,
        region,
    };
    match s {
        Scenario::LoggingTampering => attacks_evasion::logging_tampering(&mut play)?,
        Scenario::GuarddutyDisable => attacks_evasion::guardduty_disable(&mut play)?,
        Scenario::IamBackdoorUser => attacks_persistence::iam_backdoor_user(&mut play)?,
        Scenario::IamBackdoorRole => attacks_persistence::iam_backdoor_role(&mut play)?,
        Scenario::AccessKeyOtherUser => attacks_persistence::access_key_other_user(&mut play)?,
        Scenario::RootUsage => attacks_access::root_usage(&mut play)?,
        Scenario::ConsoleBruteForce => attacks_access::console_brute_force(&mut play)?,
        Scenario::KmsKeyDeletion => attacks_data::kms_key_deletion(&mut play)?,
        Scenario::LeaveOrganization => attacks_evasion::leave_organization(&mut play)?,
        Scenario::SecretsHarvest => attacks_data::secrets_harvest(&mut play)?,
        Scenario::S3Exfiltration => attacks_data::s3_exfiltration(&mut play)?,
        Scenario::SnapshotExposure => attacks_data::snapshot_exposure(&mut play)?,
        Scenario::ReconBurst => attacks_access::recon_burst(&mut play)?,
        Scenario::SgOpenWorld => attacks_evasion::sg_open_world(&mut play)?,
        Scenario::LambdaBackdoor => attacks_persistence::lambda_backdoor(&mut play)?,
        Scenario::BenignNewAdmin => benign::new_admin(&mut play)?,
        Scenario::BenignTerraformApply => benign::terraform_apply(&mut play)?,
        Scenario::BenignSecurityAudit => benign::security_audit(&mut play)?,
        Scenario::BenignDrSnapshotShare => benign::dr_snapshot_share(&mut play)?,
    }
    Ok(sink.events)
}
