//! Signed models against moto's S3 and SSM: the key comes from an SSM SecureString,
//! a signed model loads, and every way of getting other bytes past the check is
//! refused while the last good model stays in use. Skipped with a message when
//! `TRAILHOUND_MOTO_ENDPOINT` is unset (scripts/test.sh sets it).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::{Arc, OnceLock};
use std::time::Duration;
use trailhound_aws::signing::{
    ModelSigningKey, SIGNATURE_METADATA, SigningKeySource, fetch_key, put_key,
};
use trailhound_aws::testing::{moto_config, moto_endpoint, simulate, train, unique_name};
use trailhound_aws::{Clients, S3ModelSource, push_model};
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::{ModelSource, Retry};

const KEY: &str = "models/cloudtrail/model.bin";

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| train(&simulate(7, 1, 1_500).unwrap().objects).unwrap())
}

/// A model that differs from [`model`] in its version (and so its bytes).
fn other_model(version: &str) -> Model {
    let mut m = model().clone();
    m.version = version.to_owned();
    m
}

struct Env {
    c: Clients,
    bucket: String,
    parameter: String,
    key: ModelSigningKey,
}

async fn env(test: &str) -> Option<Env> {
    let endpoint = moto_endpoint(test)?;
    let c = Clients::new(&moto_config(&endpoint).await);
    let bucket = unique_name("th-models");
    c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let parameter = format!("/{}", unique_name("th-signing"));
    let key = ModelSigningKey::from_bytes(*b"0123456789abcdef0123456789abcdef");
    put_key(&c.ssm, &parameter, &key).await.unwrap();
    Some(Env {
        c,
        bucket,
        parameter,
        key,
    })
}

impl Env {
    /// The function's model source: key from SSM, revalidated on every call.
    fn source(&self) -> S3ModelSource {
        S3ModelSource::new(self.c.s3.clone(), &self.bucket, KEY, Duration::ZERO).with_signing_key(
            SigningKeySource::from_parameter(&self.c.ssm, Some(&self.parameter)),
        )
    }

    async fn push(&self, m: &Model) {
        push_model(
            &self.c.s3,
            &self.bucket,
            KEY,
            m.to_bytes().unwrap(),
            &self.key,
        )
        .await
        .unwrap();
    }

    /// Writes `bytes` at `key` with `signature` as the metadata, as an attacker with
    /// write access to the bucket could.
    async fn put_raw(&self, key: &str, bytes: Vec<u8>, signature: Option<String>) {
        let mut req = self
            .c
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(bytes.into());
        if let Some(s) = signature {
            req = req.metadata(SIGNATURE_METADATA, s);
        }
        req.send().await.unwrap();
    }

    async fn signature_of(&self, key: &str) -> Option<String> {
        let head = self
            .c
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        head.metadata()
            .and_then(|m| m.get(SIGNATURE_METADATA))
            .cloned()
    }
}

#[tokio::test]
async fn the_key_round_trips_through_an_ssm_securestring() {
    let Some(e) = env("the_key_round_trips_through_ssm").await else {
        return;
    };
    assert_eq!(fetch_key(&e.c.ssm, &e.parameter).await.unwrap(), e.key);
    let missing = fetch_key(&e.c.ssm, "/trailhound/no-such-key")
        .await
        .unwrap_err();
    assert_eq!(missing.retry, Retry::NonRetryable);
    assert!(missing.to_string().contains("not found"), "{missing}");
}

#[tokio::test]
async fn only_a_model_signed_with_the_stack_key_for_its_key_is_loaded() {
    let Some(e) = env("only_signed_models_load").await else {
        return;
    };
    let src = e.source();
    e.push(model()).await;
    let good = src.current().await.unwrap().expect("a signed model loads");
    assert_eq!(good.version(), model().version());
    let good_sig = e.signature_of(KEY).await.unwrap();
    assert!(good_sig.starts_with("hmac-sha256-v1:"), "{good_sig}");

    let other = other_model("cloudtrail-0000beef").to_bytes().unwrap();
    let stranger = ModelSigningKey::from_bytes([9; 32]);
    let cases: [(&str, &str, Vec<u8>, Option<String>); 5] = [
        ("unsigned", KEY, other.clone(), None),
        (
            "tampered (a byte of the signed model flipped)",
            KEY,
            {
                let mut b = model().to_bytes().unwrap();
                let last = b.len() - 1;
                b[last] ^= 1;
                b
            },
            Some(good_sig.clone()),
        ),
        (
            "signed with another key",
            KEY,
            other.clone(),
            Some(stranger.sign(KEY, &other)),
        ),
        (
            "the valid signature moved onto other bytes",
            KEY,
            other.clone(),
            Some(good_sig.clone()),
        ),
        (
            "malformed signature",
            KEY,
            other.clone(),
            Some("hmac-sha256-v1:zz".to_owned()),
        ),
    ];
    for (case, key, bytes, sig) in cases {
        e.put_raw(key, bytes, sig).await;
        let kept = src.current().await.unwrap().expect(case);
        assert!(
            Arc::ptr_eq(&good, &kept),
            "{case}: refused, and the previous good model stays in use"
        );
    }

    // A model signed for another source's key and copied here does not verify either.
    let vpc_key = "models/vpcflow/model.bin";
    e.put_raw(KEY, other.clone(), Some(e.key.sign(vpc_key, &other)))
        .await;
    assert!(Arc::ptr_eq(&good, &src.current().await.unwrap().unwrap()));

    // And a properly signed new model replaces it.
    e.push(&other_model("cloudtrail-0000cafe")).await;
    assert_eq!(
        src.current().await.unwrap().unwrap().version(),
        "cloudtrail-0000cafe"
    );
}

#[tokio::test]
async fn a_cold_function_refuses_an_unsigned_model_and_runs_on_rules() {
    let Some(e) = env("cold_refuses_unsigned").await else {
        return;
    };
    e.put_raw(KEY, model().to_bytes().unwrap(), None).await;
    assert!(e.source().current().await.unwrap().is_none());
    // Without any key configured, even a signed model is refused (fail closed).
    e.push(model()).await;
    let unkeyed = S3ModelSource::new(e.c.s3.clone(), &e.bucket, KEY, Duration::ZERO);
    assert!(unkeyed.current().await.unwrap().is_none());
    assert!(e.source().current().await.unwrap().is_some());
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_without_a_cold_start() {
    let Some(e) = env("rotated_key_picked_up").await else {
        return;
    };
    let src = e.source();
    e.push(model()).await;
    let first = src.current().await.unwrap().unwrap();

    // Rotation: a new key in the parameter, the model re-signed with it.
    let rotated = ModelSigningKey::from_bytes([0x42; 32]);
    put_key(&e.c.ssm, &e.parameter, &rotated).await.unwrap();
    let next = other_model("cloudtrail-00000e57");
    push_model(&e.c.s3, &e.bucket, KEY, next.to_bytes().unwrap(), &rotated)
        .await
        .unwrap();
    let loaded = src.current().await.unwrap().unwrap();
    assert_eq!(loaded.version(), "cloudtrail-00000e57");

    // The old key no longer verifies anything.
    let old = other_model("cloudtrail-0000001d").to_bytes().unwrap();
    e.put_raw(KEY, old.clone(), Some(e.key.sign(KEY, &old)))
        .await;
    assert!(Arc::ptr_eq(&loaded, &src.current().await.unwrap().unwrap()));
    assert!(!Arc::ptr_eq(&first, &loaded));
}

#[tokio::test]
async fn push_refuses_a_model_for_another_source_key() {
    let Some(e) = env("push_refuses_other_source").await else {
        return;
    };
    let err = push_model(
        &e.c.s3,
        &e.bucket,
        "models/vpcflow/model.bin",
        model().to_bytes().unwrap(),
        &e.key,
    )
    .await
    .unwrap_err();
    assert_eq!(err.retry, Retry::NonRetryable);
    assert!(err.to_string().contains("cloudtrail model"), "{err}");
}
