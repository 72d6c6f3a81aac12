//! The ten people of the account: who they are, where they work from, their time
//! zones, clients and how they sign in (Identity Center or IAM user, with or without MFA).

use super::agents::{browser, cli};
use super::identity::iam_user;
use super::ids::{SimRng, hex, iam_id};
use super::population::{Class, Kind, Principal, ip_in};
use super::record::Identity;
use rand::Rng;

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

pub(crate) const PEOPLE: &[(&str, Profile, bool, bool, i64)] = &[
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

pub(crate) fn person(
    rng: &mut SimRng,
    account: &str,
    spec: &(&str, Profile, bool, bool, i64),
) -> Principal {
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
