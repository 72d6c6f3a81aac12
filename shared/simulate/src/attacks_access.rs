//! Initial-access and discovery attacks: root use from a new place, console password
//! guessing, and enumeration with a leaked key.

use super::calls::{benign_failure, console_login, login_to};
use super::catalog::{self, IAM, S3, STS, draw, resolve};
use super::identity::{iam_user, root};
use super::ids::iam_id;
use super::params::build;
use super::record::Call;
use super::scenarios::{
    ATTACKER_BROWSER, Play, attacker_ip, caller_identity, console, odd_agent, who,
};
use super::timefmt::{console_date, iso};
use rand::Rng;
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

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

/// What a stolen key is tried against: identity first, then every service.
const RECON: &[(&str, f64)] = &[
    ("iam:ListUsers", 2.0),
    ("iam:ListRoles", 2.0),
    ("iam:ListPolicies", 1.0),
    ("iam:ListGroups", 1.0),
    ("s3:ListBuckets", 2.0),
    ("s3:GetBucketAcl", 2.0),
    ("s3:GetBucketPolicy", 2.0),
    ("ec2:DescribeInstances", 4.0),
    ("ec2:DescribeSecurityGroups", 2.0),
    ("ec2:DescribeVpcs", 2.0),
    ("ec2:DescribeSnapshots", 2.0),
    ("ec2:DescribeImages", 1.0),
    ("ec2:DescribeVolumes", 1.0),
    ("lambda:ListFunctions20150331", 2.0),
    ("rds:DescribeDBInstances", 2.0),
    ("secretsmanager:ListSecrets", 2.0),
    ("ssm:DescribeParameters", 2.0),
    ("dynamodb:ListTables", 2.0),
    ("kms:ListKeys", 1.0),
    ("cloudtrail:DescribeTrails", 1.0),
    ("guardduty:ListDetectors", 1.0),
    ("organizations:DescribeOrganization", 1.0),
    ("ecr:DescribeRepositories", 1.0),
    ("sns:ListTopics", 1.0),
    ("sqs:ListQueues", 1.0),
    ("route53:ListHostedZones", 1.0),
    ("cloudformation:ListStacks", 1.0),
    ("ecs:ListClusters", 1.0),
    ("logs:DescribeLogGroups", 1.0),
];

/// The on-premises backup key (leaked from a repository) enumerates the account in
/// every region; it may only use S3, so most calls are denied.
pub(crate) fn recon_burst(play: &mut Play<'_, '_>) -> Res {
    let id = play
        .world
        .principals
        .iter()
        .find(|p| p.name == "svc-backup-onprem")
        .map(|p| p.identity.clone())
        .unwrap_or_default();
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let user = id.user_name.clone().unwrap_or_default();
    play.step(
        &w,
        &Call::new(STS, "GetCallerIdentity", true, Value::Null),
        1..5,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(catalog::IAM, "GetUser", true, json!({"userName": user})),
            &id,
        ),
        0..3,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(
                catalog::IAM,
                "ListAttachedUserPolicies",
                true,
                json!({"userName": user}),
            ),
            &id,
        ),
        0..3,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(
                catalog::IAM,
                "GetAccountAuthorizationDetails",
                true,
                json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}),
            ),
            &id,
        ),
        0..3,
    )?;
    let mix = resolve(RECON);
    let regions = play.world.regions.clone();
    for _ in 0..play.rng.random_range(100..250) {
        let region = regions[play.rng.random_range(0..regions.len())].clone();
        let api = draw(play.rng, &mix);
        let t = play.t;
        let mut call = build(play.world, &region, api, t, play.rng);
        call = if call.source == S3 && call.name != "GetBucketPolicy" {
            call
        } else if play.rng.random_bool(0.9) {
            Play::denied(call, &id)
        } else {
            let (code, msg) = benign_failure(&call, play.rng);
            call.fail(&code, msg)
        };
        play.step_in(&region, &w, &call, 0..3)?;
    }
    Ok(())
}
