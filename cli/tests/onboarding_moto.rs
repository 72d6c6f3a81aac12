//! Onboarding a real account, against moto's S3 and SSM: an organization trail with
//! a key prefix (three accounts, three days, digests beside the logs, another trail
//! in the same bucket), `trailhound train s3://… --since 2d` on it, then
//! `trailhound model push` signing with the key in SSM, and the function's model
//! source loading the pushed model. Skipped with a message when
//! `TRAILHOUND_MOTO_ENDPOINT` is unset (scripts/test.sh sets it).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::process::{Command, Output};
use std::time::Duration;
use trailhound_aws::signing::{ModelSigningKey, SigningKeySource, put_key};
use trailhound_aws::testing::{moto_config, moto_endpoint, unique_name};
use trailhound_aws::{Clients, S3ModelSource};
use trailhound_core::decode::Limits;
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::ModelSource;
use trailhound_core::sources::cloudtrail::{CtBatch, KeyKind, key_kind};
use trailhound_simulate::cloudtrail::{SimConfig, SimError, SimObject, generate};

const ORG: &str = "o-a1b2c3d4e5";
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];

/// Today, as days since 1970-01-01 (UTC).
fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs / 86_400).unwrap()
}

/// Three days (the day before yesterday to today) of one account, digests included.
fn simulate(account: &str, seed: u64, first_day: i64) -> Vec<SimObject> {
    let cfg = SimConfig {
        seed,
        days: 3,
        start: first_day * 86_400,
        account: account.to_owned(),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        events_per_day: 150,
        scenarios: Vec::new(),
        digests: true,
    };
    let mut out = Vec::new();
    generate::<SimError>(
        &cfg,
        |o| {
            out.push(o);
            Ok(())
        },
        |_| Ok(()),
    )
    .unwrap();
    out
}

/// The `YYYY/MM/DD` folder of a day number.
fn folder(day: i64) -> String {
    let (y, m, d) = trailhound_core::timefmt::civil_from_days(day);
    format!("/{y:04}/{m:02}/{d:02}/")
}

/// Runs the binary with moto as its AWS endpoint.
fn trailhound(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("MODEL_SIGNING_KEY_PARAMETER")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trains_on_the_last_two_days_of_an_organization_trail_and_pushes_a_signed_model() {
    let Some(endpoint) = moto_endpoint("onboarding_moto") else {
        return;
    };
    let c = Clients::new(&moto_config(&endpoint).await);
    let trail_bucket = unique_name("th-trail");
    let model_bucket = unique_name("th-models");
    for b in [&trail_bucket, &model_bucket] {
        c.s3.create_bucket().bucket(b).send().await.unwrap();
    }

    // The trail: key prefix `org-trail`, organization layout, 3 accounts × 3 days.
    let today = today();
    let (old_day, yesterday) = (folder(today - 2), folder(today - 1));
    let mut uploads: Vec<(String, Vec<u8>)> = Vec::new();
    let (mut want_files, mut want_events, mut want_digests, mut old_files) = (0u64, 0u64, 0, 0);
    for (i, account) in ACCOUNTS.iter().enumerate() {
        for o in simulate(account, 10 + i as u64, today - 2) {
            let rest = o.key.strip_prefix("AWSLogs/").unwrap();
            let key = format!("org-trail/AWSLogs/{ORG}/{rest}");
            match key_kind(&key) {
                KeyKind::LogFile if key.contains(&old_day) => old_files += 1,
                KeyKind::LogFile => {
                    assert!(
                        key.contains(&yesterday) || key.contains(&folder(today)),
                        "{key}"
                    );
                    want_files += 1;
                    want_events += CtBatch::read(o.body.as_slice(), &Limits::default())
                        .unwrap()
                        .events
                        .len() as u64;
                }
                KeyKind::Digest => want_digests += 1,
                KeyKind::Other => panic!("simulated {key}"),
            }
            // Another trail of the first account in the same bucket: never read.
            if i == 0 {
                uploads.push((format!("other-trail/{}", o.key), o.body.clone()));
            }
            uploads.push((key, o.body));
        }
    }
    uploads.push((
        format!(
            "org-trail/AWSLogs/{ORG}/{}/Config/us-east-1{yesterday}c.json.gz",
            ACCOUNTS[0]
        ),
        b"not a trail".to_vec(),
    ));
    assert!(want_files > 20 && old_files > 10 && want_digests > 10);
    let mut set = tokio::task::JoinSet::new();
    for (key, body) in uploads {
        let (s3, bucket) = (c.s3.clone(), trail_bucket.clone());
        set.spawn(async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        });
        while set.len() >= 16 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    // Train on the trail's bucket as a user would.
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("model.bin");
    let url = format!("s3://{trail_bucket}/org-trail");
    let out = trailhound(
        &endpoint,
        &[
            "train",
            &url,
            "--since",
            "2d",
            "--trees",
            "20",
            "--out",
            &model_path.to_string_lossy(),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "train failed: {stderr}");
    let model = Model::from_bytes(&std::fs::read(&model_path).unwrap()).unwrap();
    assert_eq!(
        (model.training.files, model.training.rows),
        (want_files, want_events),
        "trained on other files than the last two days' logs of the org trail: {stderr}"
    );
    // A file holds the events of the minutes before its delivery: yesterday's
    // first file may start just before midnight, never earlier.
    assert!(
        model.training.time_start >= (today - 1) * 86_400 - 3_600,
        "{stderr}"
    );
    for said in [
        format!("on {want_events} events from {want_files} files"),
        format!("{want_files} S3 objects"),
        "principals".to_owned(),
        " days, ".to_owned(),
        model.version().to_owned(),
    ] {
        assert!(stderr.contains(&said), "no {said:?} in: {stderr}");
    }

    // Push it, signed with the key in SSM, and load it as the functions do.
    let parameter = format!("/{}", unique_name("th-signing"));
    let key = ModelSigningKey::from_bytes(*b"onboarding-signing-key-32-bytes!");
    put_key(&c.ssm, &parameter, &key).await.unwrap();
    let out = trailhound(
        &endpoint,
        &[
            "model",
            "push",
            &model_path.to_string_lossy(),
            "--bucket",
            &model_bucket,
            "--signing-key-parameter",
            &parameter,
        ],
    );
    assert!(out.status.success(), "push failed: {}", text(&out.stderr));
    let loaded = S3ModelSource::new(
        c.s3.clone(),
        &model_bucket,
        "models/cloudtrail/model.bin",
        Duration::ZERO,
    )
    .with_signing_key(SigningKeySource::from_parameter(&c.ssm, Some(&parameter)))
    .current()
    .await
    .unwrap()
    .expect("the pushed model verifies and loads");
    assert_eq!(loaded.version(), model.version());

    // The same object does not verify with another key.
    let stranger = format!("/{}", unique_name("th-signing"));
    put_key(&c.ssm, &stranger, &ModelSigningKey::from_bytes([7; 32]))
        .await
        .unwrap();
    let refused = S3ModelSource::new(
        c.s3.clone(),
        &model_bucket,
        "models/cloudtrail/model.bin",
        Duration::ZERO,
    )
    .with_signing_key(SigningKeySource::from_parameter(&c.ssm, Some(&stranger)))
    .current()
    .await;
    assert!(
        !matches!(refused, Ok(Some(_))),
        "a model signed with the stack key verified with another key"
    );
}
