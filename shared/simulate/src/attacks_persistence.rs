//! Persistence attacks: backdoor IAM user, backdoored role trust, keys and passwords
//! for other users, and a Lambda function opened to anyone.

use super::calls::assume_role;
use super::catalog::{IAM, LAMBDA};
use super::identity::{aws_account, iam_user};
use super::ids::{alnum, hex, iam_id};
use super::record::Call;
use super::scenarios::{
    ATTACKER_BROWSER, Play, attacker_ip, caller_identity, odd_agent, principal_identity,
    victim_cli, who,
};
use super::timefmt::{console_date, iso};
use super::world::{EXTERNAL_ACCOUNT, one};
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

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
    // The key's owner's own CLI: only the address and the hour give it away.
    let ua = victim_cli(play, "bob.schulz");
    let w = who(&id, &ip, &ua);
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

/// Stolen CI session makes a function invocable by anyone and gives it a public URL.
pub(crate) fn lambda_backdoor(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("github-actions-terraform");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    let f = one(play.rng, &play.world.res.functions).to_owned();
    let arn = play.world.function_arn(&region, &f);
    play.step(
        &w,
        &Call::new(LAMBDA, "ListFunctions20150331", true, Value::Null),
        3..20,
    )?;
    play.step(
        &w,
        &Call::new(
            LAMBDA,
            "GetFunction20150331v2",
            true,
            json!({"functionName": f}),
        ),
        5..30,
    )?;
    let statement = format!(
        "{{\"Sid\":\"public-invoke\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"{arn}\"}}"
    );
    play.step(&w, &Call::new(LAMBDA, "AddPermission20150331v2", false, json!({"functionName": f, "statementId": "public-invoke", "action": "lambda:InvokeFunction", "principal": "*"})).respond(json!({"statement": statement})), 3..20)?;
    let url = format!(
        "https://{}.lambda-url.{region}.on.aws/",
        alnum(play.rng, 32).to_lowercase()
    );
    play.step(&w, &Call::new(LAMBDA, "CreateFunctionUrlConfig20211031", false, json!({"functionName": f, "authType": "NONE"})).respond(json!({"functionUrl": url, "functionArn": arn, "authType": "NONE", "creationTime": iso(play.t).replace('Z', ".000000Z")})), 3..20)?;
    play.step(&w, &Call::new(LAMBDA, "AddPermission20150331v2", false, json!({"functionName": f, "statementId": "FunctionURLAllowPublicAccess", "action": "lambda:InvokeFunctionUrl", "principal": "*", "functionUrlAuthType": "NONE"})).respond(json!({"statement": statement.replace("InvokeFunction\"", "InvokeFunctionUrl\"")})), 20..120)?;
    let bucket = play.world.res.artifact_bucket.clone();
    let object = format!("tmp/{}.zip", hex(play.rng, 8));
    play.step(&w, &Call::new(LAMBDA, "UpdateFunctionCode20150331v2", false, json!({"functionName": f, "s3Bucket": bucket, "s3Key": object, "publish": false})).respond(json!({"functionName": f, "functionArn": arn, "lastModified": console_date(play.t), "state": "Active"})), 1..2)
}
