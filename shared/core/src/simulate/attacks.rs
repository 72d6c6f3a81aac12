//! Attack scripts on identity, logging and account control: defence evasion
//! (trail, GuardDuty, Config), persistence (backdoor users, roles and keys), root use,
//! console brute force, key destruction and leaving the organisation.

use super::calls::{assume_role, console_login, login_to};
use super::catalog::{CONFIG, GD, IAM, KMS, ORGS, STS, TRAIL};
use super::identity::{aws_account, iam_user, root};
use super::ids::{hex, iam_id};
use super::normal::Who;
use super::record::{Call, Identity};
use super::scenarios::{ATTACKER_BROWSER, Play, attacker_ip, odd_agent};
use super::timefmt::{console_date, iso};
use super::world::{EXTERNAL_ACCOUNT, TRAIL as TRAIL_NAME};
use rand::Rng;
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

fn who<'a>(identity: &'a Identity, ip: &'a str, ua: &'a str) -> Who<'a> {
    Who {
        identity,
        ip,
        ua,
        console: false,
        vpce: None,
    }
}

fn console<'a>(identity: &'a Identity, ip: &'a str, ua: &'a str) -> Who<'a> {
    Who {
        identity,
        ip,
        ua,
        console: true,
        vpce: None,
    }
}

fn principal_identity(play: &Play<'_, '_>, name: &str) -> Identity {
    play.world
        .principals
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.identity.clone())
        .unwrap_or_default()
}

fn caller_identity() -> Call {
    Call::new(STS, "GetCallerIdentity", true, Value::Null)
}

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

/// A phished Identity Center session creates an admin user with an access key,
/// then the new key is tried from the same place.
pub(crate) fn iam_backdoor_user(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("alice.martin", &ip, ATTACKER_BROWSER)?;
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let acct = play.world.account.clone();
    let user = "svc-metrics-sync";
    let aida = iam_id(play.rng, "AIDA");
    let akia = iam_id(play.rng, "AKIA");
    play.step(&w, &Call::new(IAM, "ListUsers", true, Value::Null), 5..30)?;
    play.step(&w, &Call::new(IAM, "CreateUser", false, json!({"userName": user})).respond(json!({"user": {"path": "/", "userName": user, "userId": aida, "arn": format!("arn:aws:iam::{acct}:user/{user}"), "createDate": console_date(play.t)}})), 2..15)?;
    play.step(
        &w,
        &Call::new(
            IAM,
            "AttachUserPolicy",
            false,
            json!({"userName": user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        2..15,
    )?;
    play.step(&w, &Call::new(IAM, "CreateAccessKey", false, json!({"userName": user})).respond(json!({"accessKey": {"userName": user, "accessKeyId": akia, "status": "Active", "createDate": console_date(play.t)}})), 30..300)?;
    let new = iam_user(&acct, user, &aida, &akia, None);
    let w2 = who(&new, &ip, ua);
    play.step(&w2, &caller_identity(), 3..20)?;
    play.step(
        &w2,
        &Call::new(
            IAM,
            "ListAttachedUserPolicies",
            true,
            json!({"userName": user}),
        ),
        1..2,
    )
}

/// Stolen CI session rewrites a privileged role's trust policy for an external
/// account, which then assumes the role.
pub(crate) fn iam_backdoor_role(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("github-actions-terraform");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let role = "break-glass-admin";
    let trust = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{EXTERNAL_ACCOUNT}:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}"
    );
    play.step(&w, &Call::new(IAM, "ListRoles", true, Value::Null), 3..20)?;
    play.step(
        &w,
        &Call::new(IAM, "GetRole", true, json!({"roleName": role})),
        5..40,
    )?;
    play.step(
        &w,
        &Call::new(
            IAM,
            "UpdateAssumeRolePolicy",
            false,
            json!({"roleName": role, "policyDocument": trust}),
        ),
        300..1800,
    )?;
    let outsider = aws_account(&iam_id(play.rng, "AIDA"), EXTERNAL_ACCOUNT);
    let ip2 = attacker_ip(play.rng);
    let ua2 = odd_agent(play.rng);
    let role_arn = play.world.role_arn(role);
    let acct = play.world.account.clone();
    let call = assume_role(play.rng, &acct, &role_arn, "backdoor", None, play.t);
    play.step(&who(&outsider, &ip2, ua2), &call, 2..10)?;
    let mut session = principal_identity(play, "github-actions-terraform");
    session.arn = Some(format!("arn:aws:sts::{acct}:assumed-role/{role}/backdoor"));
    let aroa = iam_id(play.rng, "AROA");
    session.principal_id = Some(format!("{aroa}:backdoor"));
    session.access_key_id = Some(iam_id(play.rng, "ASIA"));
    if let Some(ctx) = session.session_context.as_mut() {
        ctx.web_id_federation_data = Some(Default::default());
        ctx.attributes.creation_date = iso(play.t);
        if let Some(issuer) = ctx.session_issuer.as_mut() {
            issuer.principal_id = aroa;
            issuer.arn = role_arn.clone();
            issuer.user_name = role.to_owned();
        }
    }
    let w3 = who(&session, &ip2, ua2);
    play.step(&w3, &caller_identity(), 2..10)?;
    play.step(&w3, &Call::new(IAM, "ListUsers", true, Value::Null), 2..10)?;
    play.step(
        &w3,
        &Call::new(
            super::catalog::S3,
            "ListBuckets",
            true,
            json!({"Host": "s3.us-east-1.amazonaws.com"}),
        ),
        1..2,
    )
}

/// An admin's stolen key creates an access key and a console password for other users.
pub(crate) fn access_key_other_user(play: &mut Play<'_, '_>) -> Res {
    let id = principal_identity(play, "bob.schulz");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let victim = "frank.wilson";
    let portal = "svc-reporting-portal";
    let akia = iam_id(play.rng, "AKIA");
    play.step(&w, &Call::new(IAM, "ListUsers", true, Value::Null), 3..20)?;
    play.step(
        &w,
        &Call::new(IAM, "ListAccessKeys", true, json!({"userName": victim})),
        3..20,
    )?;
    play.step(&w, &Call::new(IAM, "CreateAccessKey", false, json!({"userName": victim})).respond(json!({"accessKey": {"userName": victim, "accessKeyId": akia, "status": "Active", "createDate": console_date(play.t)}})), 10..90)?;
    let missing = Call::new(IAM, "GetLoginProfile", true, json!({"userName": portal})).fail(
        "NoSuchEntity",
        format!("Login Profile for User {portal} cannot be found."),
    );
    play.step(&w, &missing, 2..10)?;
    play.step(&w, &Call::new(IAM, "CreateLoginProfile", false, json!({"userName": portal, "passwordResetRequired": false})).respond(json!({"loginProfile": {"userName": portal, "createDate": console_date(play.t), "passwordResetRequired": false}})), 1..2)
}

/// Root signs in without MFA from a new address, looks around, creates a root key
/// and uses it from the command line.
pub(crate) fn root_usage(play: &mut Play<'_, '_>) -> Res {
    let acct = play.world.account.clone();
    let ip = attacker_ip(play.rng);
    let mut login = root(&acct, "", None);
    login.access_key_id = None;
    let to = login_to(play.rng, "us-east-1");
    play.step(
        &who(&login, &ip, ATTACKER_BROWSER),
        &console_login(true, false, &to),
        5..20,
    )?;
    let key = iam_id(play.rng, "ASIA");
    let created = iso(play.t - 10);
    let session = root(&acct, &key, Some((&created, false)));
    let c = console(&session, &ip, ATTACKER_BROWSER);
    let internal = console(&session, "AWS Internal", "AWS Internal");
    play.step(
        &internal,
        &Call::new(IAM, "GetAccountSummary", true, Value::Null),
        2..10,
    )?;
    play.step(
        &internal,
        &Call::new(IAM, "ListUsers", true, Value::Null),
        2..10,
    )?;
    play.step(
        &c,
        &Call::new(
            super::catalog::EC2,
            "DescribeRegions",
            true,
            json!({"regionSet": {}}),
        ),
        2..10,
    )?;
    play.step(
        &internal,
        &Call::new(IAM, "GetAccountPasswordPolicy", true, Value::Null),
        5..30,
    )?;
    play.step(
        &internal,
        &Call::new(IAM, "ListAccessKeys", true, Value::Null),
        5..30,
    )?;
    let akia = iam_id(play.rng, "AKIA");
    play.step(&internal, &Call::new(IAM, "CreateAccessKey", false, Value::Null).respond(json!({"accessKey": {"accessKeyId": akia, "status": "Active", "createDate": console_date(play.t)}})), 60..400)?;
    let cli_id = root(&acct, &akia, None);
    let ua = odd_agent(play.rng);
    let cli = who(&cli_id, &ip, ua);
    play.step(&cli, &caller_identity(), 2..10)?;
    play.step(
        &cli,
        &Call::new(
            super::catalog::S3,
            "ListBuckets",
            true,
            json!({"Host": "s3.us-east-1.amazonaws.com"}),
        ),
        2..10,
    )?;
    play.step(&cli, &Call::new(IAM, "ListRoles", true, Value::Null), 1..2)
}

/// Password guessing against a contractor's IAM user without MFA, then a success
/// and a look around.
pub(crate) fn console_brute_force(play: &mut Play<'_, '_>) -> Res {
    let acct = play.world.account.clone();
    let name = "judy.contractor";
    let aida = play
        .world
        .principals
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.human.as_deref())
        .map(|h| h.aida.clone())
        .unwrap_or_default();
    let ip = attacker_ip(play.rng);
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let mut known = iam_user(&acct, name, &aida, "", None);
    known.arn = None;
    let mut hidden = iam_user(&acct, "HIDDEN_DUE_TO_SECURITY_REASONS", "", "", None);
    hidden.principal_id = None;
    hidden.arn = None;
    let to = login_to(play.rng, "us-east-1");
    for _ in 0..play.rng.random_range(30..80) {
        if play.rng.random_bool(0.15) {
            let mut call = console_login(false, false, &to);
            call.error = Some((
                String::new(),
                "No username found in supplied account".to_owned(),
            ));
            play.step(&who(&hidden, &ip, ua), &call, 5..30)?;
        } else {
            play.step(
                &who(&known, &ip, ua),
                &console_login(false, false, &to),
                5..30,
            )?;
        }
    }
    let mut ok = iam_user(&acct, name, &aida, "", None);
    ok.access_key_id = None;
    play.step(&who(&ok, &ip, ua), &console_login(true, false, &to), 5..20)?;
    let key = iam_id(play.rng, "ASIA");
    let created = iso(play.t - 10);
    let session = iam_user(&acct, name, &aida, &key, Some((&created, false)));
    play.step(
        &console(
            &session,
            &ip,
            "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]",
        ),
        &Call::new(
            super::catalog::S3,
            "ListBuckets",
            true,
            json!({"Host": "s3.us-east-1.amazonaws.com"}),
        ),
        3..20,
    )?;
    play.step(
        &console(&session, &ip, "console.ec2.amazonaws.com"),
        &Call::new(
            super::catalog::EC2,
            "DescribeInstances",
            true,
            json!({"instancesSet": {}, "filterSet": {}}),
        ),
        3..20,
    )?;
    let denied = Play::denied(Call::new(IAM, "ListUsers", true, Value::Null), &session);
    play.step(
        &console(&session, "AWS Internal", "AWS Internal"),
        &denied,
        1..2,
    )
}

/// An admin's stolen key disables KMS keys and schedules them for deletion.
pub(crate) fn kms_key_deletion(play: &mut Play<'_, '_>) -> Res {
    let id = principal_identity(play, "bob.schulz");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    let keys: Vec<String> = play
        .world
        .res
        .keys
        .iter()
        .take(3)
        .map(|k| play.world.key_arn(&region, k))
        .collect();
    play.step(
        &w,
        &Call::new(KMS, "ListKeys", true, json!({"limit": 1000})),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(KMS, "ListAliases", true, json!({"limit": 100})),
        2..10,
    )?;
    for key in &keys {
        let res = json!([{"accountId": play.world.account, "type": "AWS::KMS::Key", "ARN": key}]);
        play.step(
            &w,
            &Call::new(KMS, "DescribeKey", true, json!({"keyId": key})).resources(res.clone()),
            1..5,
        )?;
        play.step(
            &w,
            &Call::new(KMS, "DisableKey", false, json!({"keyId": key})).resources(res.clone()),
            1..5,
        )?;
        let deletion = console_date(play.t + 7 * 86_400);
        play.step(&w, &Call::new(KMS, "ScheduleKeyDeletion", false, json!({"keyId": key, "pendingWindowInDays": 7})).respond(json!({"keyId": key, "deletionDate": deletion, "keyState": "PendingDeletion", "pendingWindowInDays": 7})).resources(res), 3..20)?;
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
