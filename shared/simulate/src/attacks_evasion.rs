//! Defence-evasion attacks: trail tampering, GuardDuty and Config disabled, a
//! security group opened to the world, and the account taken out of its organisation.

use super::calls::{console_login, login_to};
use super::catalog::{CONFIG, EC2, GD, ORGS, TRAIL};
use super::ids::{hex, uuid4};
use super::record::Call;
use super::scenarios::{
    ATTACKER_BROWSER, Play, attacker_ip, caller_identity, console, odd_agent, principal_identity,
    who,
};
use super::world::{TRAIL as TRAIL_NAME, one};
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

/// Stolen long-term key of an admin IAM user: trail inspected, management events
/// dropped from the selectors, logging stopped, a second trail deleted.
pub(crate) fn logging_tampering(play: &mut Play<'_, '_>) -> Res {
    let id = principal_identity(play, "bob.schulz");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let arn = format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/{TRAIL_NAME}",
        play.world.account
    );
    play.step(&w, &caller_identity(), 2..10)?;
    play.step(
        &w,
        &Call::new(
            TRAIL,
            "DescribeTrails",
            true,
            json!({"trailNameList": [], "includeShadowTrails": true}),
        ),
        1..5,
    )?;
    play.step(
        &w,
        &Call::new(TRAIL, "GetTrailStatus", true, json!({"name": arn})),
        1..5,
    )?;
    play.step(
        &w,
        &Call::new(TRAIL, "GetEventSelectors", true, json!({"trailName": arn})),
        5..30,
    )?;
    let selectors = json!([{"readWriteType": "All", "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]);
    play.step(
        &w,
        &Call::new(
            TRAIL,
            "PutEventSelectors",
            false,
            json!({"trailName": arn, "eventSelectors": selectors}),
        )
        .respond(json!({"trailARN": arn, "eventSelectors": selectors})),
        5..40,
    )?;
    play.step(
        &w,
        &Call::new(TRAIL, "StopLogging", false, json!({"name": arn})),
        10..60,
    )?;
    let second = format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/security-audit-trail",
        play.world.account
    );
    play.step(
        &w,
        &Call::new(TRAIL, "DeleteTrail", false, json!({"name": second})),
        1..2,
    )
}

/// Stolen CI role session: GuardDuty detectors disabled or deleted in several
/// regions and the Config recorder stopped.
pub(crate) fn guardduty_disable(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("github-actions-terraform");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let detector = play.world.res.detector_id.clone();
    play.step(&w, &caller_identity(), 2..10)?;
    let regions: Vec<String> = play.world.regions.iter().take(3).cloned().collect();
    for (i, region) in regions.iter().enumerate() {
        play.step_in(
            region,
            &w,
            &Call::new(GD, "ListDetectors", true, Value::Null),
            1..4,
        )?;
        let det = if i == 0 {
            detector.clone()
        } else {
            hex(play.rng, 32)
        };
        play.step_in(
            region,
            &w,
            &Call::new(GD, "GetDetector", true, json!({"detectorId": det})),
            2..8,
        )?;
        let call = if i == 0 {
            Call::new(
                GD,
                "UpdateDetector",
                false,
                json!({"detectorId": det, "enable": false, "findingPublishingFrequency": "SIX_HOURS"}),
            )
        } else {
            Call::new(GD, "DeleteDetector", false, json!({"detectorId": det}))
        };
        play.step_in(region, &w, &call, 3..20)?;
    }
    play.step(
        &w,
        &Call::new(CONFIG, "DescribeConfigurationRecorders", true, Value::Null),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(
            CONFIG,
            "StopConfigurationRecorder",
            false,
            json!({"configurationRecorderName": "default"}),
        ),
        1..2,
    )
}

/// A phished developer session opens SSH and RDP to the internet.
pub(crate) fn sg_open_world(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("dave.okafor", &ip, super::scenarios::ATTACKER_BROWSER)?;
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let sg = one(play.rng, &play.world.res.security_groups).to_owned();
    let acct = play.world.account.clone();
    play.step(
        &w,
        &Call::new(
            EC2,
            "DescribeSecurityGroups",
            true,
            json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
        ),
        5..40,
    )?;
    for port in [22, 3389] {
        let perms = json!({"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}, "prefixListIds": {}}]});
        let rule = json!({"requestId": uuid4(play.rng), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": acct, "groupId": sg, "securityGroupRuleId": format!("sgr-0{}", hex(play.rng, 16)), "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}});
        play.step(
            &w,
            &Call::new(
                EC2,
                "AuthorizeSecurityGroupIngress",
                false,
                json!({"groupId": sg, "ipPermissions": perms}),
            )
            .respond(rule),
            5..60,
        )?;
    }
    Ok(())
}

/// A phished Identity Center session signs in to the console and takes the
/// account out of its organisation (and away from its SCPs and delegated security).
pub(crate) fn leave_organization(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("alice.martin", &ip, ATTACKER_BROWSER)?;
    let mut login = id.clone();
    login.access_key_id = None;
    let to = login_to(play.rng, "us-east-1");
    play.step(
        &who(&login, &ip, ATTACKER_BROWSER),
        &console_login(true, false, &to),
        5..30,
    )?;
    let c = console(&id, "AWS Internal", "AWS Internal");
    play.step(
        &c,
        &Call::new(ORGS, "DescribeOrganization", true, Value::Null),
        3..20,
    )?;
    play.step(
        &c,
        &Play::denied(Call::new(ORGS, "ListAccounts", true, Value::Null), &id),
        5..40,
    )?;
    play.step(
        &c,
        &Call::new(ORGS, "LeaveOrganization", false, Value::Null),
        1..2,
    )
}
