//! Collection, exfiltration and impact: secrets harvested, a bucket opened and
//! drained, snapshots shared out, and KMS keys scheduled for deletion.

use super::calls::s3_object;
use super::catalog::{EC2, KMS, RDS, S3, SECRETS, SSM, STS};
use super::identity::aws_account;
use super::ids::{alnum, hex, uuid4};
use super::record::Call;
use super::scenarios::{Play, attacker_ip, odd_agent, principal_identity, victim_cli, who};
use super::timefmt::{console_date, iso};
use super::world::EXTERNAL_ACCOUNT;
use rand::Rng;
use serde_json::{Value, json};

type Res = Result<(), serde_json::Error>;

/// Credentials of the API task role (taken through SSRF) used from outside: every
/// secret and decrypted parameter read within minutes, some denied.
pub(crate) fn secrets_harvest(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("app-api-task");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    play.step(
        &w,
        &Call::new(STS, "GetCallerIdentity", true, Value::Null),
        2..10,
    )?;
    play.step(
        &w,
        &Play::denied(
            Call::new(SECRETS, "ListSecrets", true, json!({"maxResults": 100})),
            &id,
        ),
        2..8,
    )?;
    let secrets = play.world.res.secrets.clone();
    for i in 0..play.rng.random_range(25..45) {
        let name = &secrets[i % secrets.len().max(1)];
        let call = Call::new(
            SECRETS,
            "GetSecretValue",
            true,
            json!({"secretId": play.world.secret_arn(&region, name)}),
        );
        let call = match play.rng.random_range(0..10) {
            0..=1 => Play::denied(call, &id),
            2 => call.fail(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.".into(),
            ),
            _ => call,
        };
        play.step(&w, &call, 1..6)?;
    }
    play.step(
        &w,
        &Play::denied(
            Call::new(SSM, "DescribeParameters", true, json!({"maxResults": 50})),
            &id,
        ),
        1..4,
    )?;
    for path in ["/prod/", "/prod/api/", "/shared/"] {
        play.step(
            &w,
            &Call::new(
                SSM,
                "GetParametersByPath",
                true,
                json!({"path": path, "recursive": true, "withDecryption": true}),
            ),
            1..4,
        )?;
    }
    let params = play.world.res.params.clone();
    for chunk in params.chunks(3).take(play.rng.random_range(6..10)) {
        play.step(
            &w,
            &Call::new(
                SSM,
                "GetParameters",
                true,
                json!({"names": chunk, "withDecryption": true}),
            ),
            1..4,
        )?;
    }
    Ok(())
}

/// A phished developer session opens the export bucket to the world, replicates it to
/// an external account, and the objects are pulled anonymously and with the session.
pub(crate) fn s3_exfiltration(play: &mut Play<'_, '_>) -> Res {
    let ip = attacker_ip(play.rng);
    let id = play.sso_sign_in("carol.nguyen", &ip, super::scenarios::ATTACKER_BROWSER)?;
    let ua = "aws-cli/2.9.0 Python/3.9.11 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/{cmd}";
    let w = who(&id, &ip, ua);
    let region = play.region.clone();
    let bucket = play.world.res.data_bucket.clone();
    let acct = play.world.account.clone();
    let host = format!("{bucket}.s3.{region}.amazonaws.com");
    let s3 = |sub: &str, extra: Value| {
        let mut v = json!({"bucketName": bucket, "Host": host, sub: ""});
        if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        v
    };
    play.step(
        &w,
        &Call::new(
            S3,
            "ListBuckets",
            true,
            json!({"Host": format!("s3.{region}.amazonaws.com")}),
        ),
        3..20,
    )?;
    play.step(
        &w,
        &Call::new(S3, "GetBucketPolicy", true, s3("policy", Value::Null)).fail(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist".into(),
        ),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(
            S3,
            "GetBucketPublicAccessBlock",
            true,
            s3("publicAccessBlock", Value::Null),
        ),
        2..10,
    )?;
    play.step(
        &w,
        &Call::new(
            S3,
            "DeleteBucketPublicAccessBlock",
            false,
            s3("publicAccessBlock", Value::Null),
        ),
        3..20,
    )?;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    play.step(
        &w,
        &Call::new(
            S3,
            "PutBucketPolicy",
            false,
            s3("policy", json!({"bucketPolicy": policy})),
        ),
        3..20,
    )?;
    let acl = json!({"AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}, "Owner": {"ID": hex(play.rng, 64)}}, "x-amz-acl": ["public-read"]});
    play.step(
        &w,
        &Call::new(S3, "PutBucketAcl", false, s3("acl", acl)),
        3..20,
    )?;
    let repl = json!({"ReplicationConfiguration": {"Role": format!("arn:aws:iam::{acct}:role/s3-replication"), "Rule": {"ID": "sync", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": format!("arn:aws:s3:::backup-{}", alnum(play.rng, 8).to_lowercase()), "Account": EXTERNAL_ACCOUNT}}}});
    play.step(
        &w,
        &Call::new(S3, "PutBucketReplication", false, s3("replication", repl)),
        30..120,
    )?;
    let anon = aws_account("", "anonymous");
    let ip2 = attacker_ip(play.rng);
    let date = iso(play.t - 86_400)[..10].replace('-', "/");
    for i in 0..play.rng.random_range(80..200) {
        let key = format!("exports/{date}/{}.json.gz", uuid4(play.rng));
        let bytes = play.rng.random_range(200_000..25_000_000);
        let call = s3_object(play.rng, &acct, &region, "GetObject", &bucket, &key, bytes);
        if i % 5 == 0 {
            play.step(&w, &call, 0..3)?;
        } else {
            play.step(&who(&anon, &ip2, "curl/8.5.0"), &call, 0..4)?;
        }
    }
    Ok(())
}

/// The backup role's session used from outside to share EBS snapshots, an AMI and
/// RDS snapshots publicly and with an external account.
pub(crate) fn snapshot_exposure(play: &mut Play<'_, '_>) -> Res {
    let id = play.role_session("backup-automation");
    let ip = attacker_ip(play.rng);
    let ua = odd_agent(play.rng);
    let w = who(&id, &ip, ua);
    let res = play.world.res.clone();
    play.step(&w, &Call::new(EC2, "DescribeSnapshots", true, json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}})), 5..30)?;
    for (i, snap) in res.snapshots.iter().take(3).enumerate() {
        let add = if i == 0 {
            json!({"items": [{"group": "all"}]})
        } else {
            json!({"items": [{"userId": EXTERNAL_ACCOUNT}]})
        };
        let request = uuid4(play.rng);
        play.step(&w, &Call::new(EC2, "ModifySnapshotAttribute", false, json!({"snapshotId": snap, "createVolumePermission": {"add": add}, "attributeType": "CREATE_VOLUME_PERMISSION"})).respond(json!({"requestId": request, "_return": true})), 3..20)?;
    }
    play.step(&w, &Call::new(EC2, "DescribeImages", true, json!({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})), 3..20)?;
    let ami = res.amis.first().cloned().unwrap_or_default();
    let request = uuid4(play.rng);
    play.step(&w, &Call::new(EC2, "ModifyImageAttribute", false, json!({"imageId": ami, "launchPermission": {"add": {"items": [{"userId": EXTERNAL_ACCOUNT}]}}, "attributeType": "launchPermission"})).respond(json!({"requestId": request, "_return": true})), 3..20)?;
    play.step(
        &w,
        &Call::new(
            RDS,
            "DescribeDBSnapshots",
            true,
            json!({"snapshotType": "manual"}),
        ),
        3..20,
    )?;
    let date = iso(play.t - 86_400)[..10].to_owned();
    for (i, db) in res.dbs.iter().take(2).enumerate() {
        let snap = format!("nightly-{db}-{date}");
        let values = if i == 0 {
            json!(["all"])
        } else {
            json!([EXTERNAL_ACCOUNT])
        };
        play.step(&w, &Call::new(RDS, "ModifyDBSnapshotAttribute", false, json!({"dBSnapshotIdentifier": snap, "attributeName": "restore", "valuesToAdd": values})).respond(json!({"dBSnapshotIdentifier": snap, "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": values}]})), 3..20)?;
    }
    Ok(())
}

/// An admin's stolen key disables KMS keys and schedules them for deletion.
pub(crate) fn kms_key_deletion(play: &mut Play<'_, '_>) -> Res {
    let id = principal_identity(play, "bob.schulz");
    let ip = attacker_ip(play.rng);
    // The key's owner's own CLI: only the address, the hour and the calls give it away.
    let ua = victim_cli(play, "bob.schulz");
    let w = who(&id, &ip, &ua);
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
