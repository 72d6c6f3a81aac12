//! Model signatures: the ingest functions load a model from S3 only if it carries an
//! HMAC-SHA256 made with the stack's signing key.
//!
//! The checksum inside the artifact only catches corruption; anyone able to write the
//! model bucket could otherwise choose what scores (and so what never alerts). The
//! signature closes that: it is computed over a domain tag, the object key and the
//! artifact bytes, and travels as the object's user metadata
//! (`x-amz-meta-trailhound-signature`), which S3 stores and replaces together with
//! the bytes (a PUT or COPY writes both; neither can be edited alone). Because the
//! key is signed too, a valid signature moved onto other bytes, or a signed model
//! copied to another source's key, does not verify.
//!
//! The key is 256 random bits kept as 64 hex characters in an SSM SecureString
//! parameter (`MODEL_SIGNING_KEY_PARAMETER`): `infra/deploy.sh` creates it,
//! `trailhound model push` signs with it, and the functions read it once per cold
//! start ([`SsmSigningKey`]). Verification happens before the artifact is parsed, so
//! an unsigned object never reaches the model decoder.

use crate::error::{code, port_error};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use tokio::sync::Mutex;
use trailhound_core::ports::{PortError, Retry};

/// The S3 user-metadata name of the signature (`x-amz-meta-trailhound-signature`).
pub const SIGNATURE_METADATA: &str = "trailhound-signature";
/// The scheme prefix of a signature value; a new scheme gets a new prefix.
pub const SCHEME: &str = "hmac-sha256-v1";
/// Domain separation: this key signs nothing else.
const DOMAIN: &[u8] = b"trailhound model artifact v1\0";
/// Key length in bytes (256 bits, the HMAC-SHA256 block-size-safe choice).
pub const KEY_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit model signing key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ModelSigningKey([u8; KEY_BYTES]);

impl fmt::Debug for ModelSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ModelSigningKey(..)")
    }
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not 64 hex characters.
    #[error("a model signing key is {} hex characters (256 bits); found {found} characters", KEY_BYTES * 2)]
    BadLength {
        /// Characters found (after trimming).
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("a model signing key is hex; found a non-hex character at {position}")]
    NotHex {
        /// Character position.
        position: usize,
    },
}

/// Why a model's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The object has no signature metadata.
    #[error("unsigned model (no {SIGNATURE_METADATA} metadata)")]
    Unsigned,
    /// The metadata is not `hmac-sha256-v1:<64 hex>`.
    #[error("malformed model signature (expected {SCHEME}:<64 hex characters>)")]
    Malformed,
    /// The signature was not made with this key over these bytes at this key.
    #[error(
        "model signature does not verify (other bytes, another object key or another signing key)"
    )]
    Mismatch,
}

impl ModelSigningKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// Reads the parameter's text: 64 hex characters, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != KEY_BYTES * 2 {
            return Err(KeyError::BadLength {
                found: text.chars().count(),
            });
        }
        let mut out = [0u8; KEY_BYTES];
        let digits = text.as_bytes();
        for (i, byte) in out.iter_mut().enumerate() {
            let hi = hex_value(digits[2 * i]).ok_or(KeyError::NotHex { position: 2 * i })?;
            let lo = hex_value(digits[2 * i + 1]).ok_or(KeyError::NotHex {
                position: 2 * i + 1,
            })?;
            *byte = (hi << 4) | lo;
        }
        Ok(Self(out))
    }

    /// The key as 64 lower-case hex characters (what the parameter holds).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    fn mac(&self, object_key: &str, artifact: &[u8]) -> HmacSha256 {
        // HMAC pads a short key with zeros to the 64-byte block; padding it here gives
        // the same MAC through the infallible constructor.
        let mut block = [0u8; 64];
        block[..KEY_BYTES].copy_from_slice(&self.0);
        let mut mac = <HmacSha256 as hmac::digest::KeyInit>::new(&block.into());
        mac.update(DOMAIN);
        // Length-prefixed, so no (key, bytes) pair can be re-split into another.
        mac.update(&(object_key.len() as u64).to_le_bytes());
        mac.update(object_key.as_bytes());
        mac.update(artifact);
        mac
    }

    /// The metadata value that signs `artifact` stored at `object_key`.
    pub fn sign(&self, object_key: &str, artifact: &[u8]) -> String {
        let tag = self.mac(object_key, artifact).finalize().into_bytes();
        format!("{SCHEME}:{}", hex(&tag))
    }

    /// Checks a signature (the metadata value, if any) of `artifact` at `object_key`,
    /// in constant time.
    pub fn verify(
        &self,
        object_key: &str,
        artifact: &[u8],
        signature: Option<&str>,
    ) -> Result<(), SignatureError> {
        let value = signature.ok_or(SignatureError::Unsigned)?.trim();
        let tag = value
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|h| ModelSigningKey::from_hex(h).ok())
            .ok_or(SignatureError::Malformed)?;
        self.mac(object_key, artifact)
            .verify_slice(&tag.0)
            .map_err(|_| SignatureError::Mismatch)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Reads a signing key from an SSM SecureString parameter (with decryption) and keeps
/// it; [`SsmSigningKey::reload`] reads it again after a rotation. Shared (in an
/// `Arc`) by every model source of a function, so a cold start costs one call.
#[derive(Debug)]
pub struct SsmSigningKey {
    client: aws_sdk_ssm::Client,
    parameter: String,
    cached: Mutex<Option<Arc<ModelSigningKey>>>,
}

impl SsmSigningKey {
    /// A key read from `parameter` on first use.
    pub fn new(client: aws_sdk_ssm::Client, parameter: impl Into<String>) -> Self {
        Self {
            client,
            parameter: parameter.into(),
            cached: Mutex::new(None),
        }
    }

    /// The parameter name.
    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// The key, read from SSM on the first call.
    pub async fn get(&self) -> Result<Arc<ModelSigningKey>, PortError> {
        let mut cached = self.cached.lock().await;
        if let Some(k) = cached.as_ref() {
            return Ok(k.clone());
        }
        let key = Arc::new(fetch_key(&self.client, &self.parameter).await?);
        *cached = Some(key.clone());
        Ok(key)
    }

    /// Reads the parameter again (after a signature did not verify: the key may have
    /// been rotated). Keeps the cached key when the read fails.
    pub async fn reload(&self) -> Result<Arc<ModelSigningKey>, PortError> {
        let key = Arc::new(fetch_key(&self.client, &self.parameter).await?);
        *self.cached.lock().await = Some(key.clone());
        Ok(key)
    }
}

/// `GetParameter` with decryption, parsed as a key. A missing parameter, a denied read
/// or a malformed value is not retryable; throttling and outages are.
pub async fn fetch_key(
    client: &aws_sdk_ssm::Client,
    parameter: &str,
) -> Result<ModelSigningKey, PortError> {
    let out = client
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            let what = match code(&e) {
                Some("ParameterNotFound") => "model signing key parameter not found",
                _ => "GetParameter",
            };
            port_error(e, format_args!("{what} {parameter}"))
        })?;
    let value = out
        .parameter()
        .and_then(|p| p.value())
        .ok_or_else(|| PortError::non_retryable(format!("parameter {parameter} has no value")))?;
    ModelSigningKey::from_hex(value).map_err(|e| {
        PortError::non_retryable(format!("parameter {parameter} is not a model signing key"))
            .with_source(e)
    })
}

/// Stores `key` as a SecureString under `parameter` (overwriting): for tests and for
/// tools; `infra/deploy.sh` does the same with the AWS CLI.
pub async fn put_key(
    client: &aws_sdk_ssm::Client,
    parameter: &str,
    key: &ModelSigningKey,
) -> Result<(), PortError> {
    client
        .put_parameter()
        .name(parameter)
        .value(key.to_hex())
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .description("trailhound model signing key (HMAC-SHA256, 64 hex characters)")
        .send()
        .await
        .map_err(|e| port_error(e, format_args!("PutParameter {parameter}")))?;
    Ok(())
}

/// The fixed key of tests (feature `test-util`): never a deployed key.
#[cfg(feature = "test-util")]
pub fn test_key() -> ModelSigningKey {
    ModelSigningKey::from_bytes(*b"trailhound test model signing k!")
}

/// Stores [`test_key`] under a new parameter name and returns the name (feature
/// `test-util`), for tests that set `MODEL_SIGNING_KEY_PARAMETER`.
#[cfg(feature = "test-util")]
pub async fn store_test_key(client: &aws_sdk_ssm::Client) -> Result<String, PortError> {
    let name = format!("/{}", crate::testing::unique_name("th-model-key"));
    put_key(client, &name, &test_key()).await?;
    Ok(name)
}

/// Where a model source gets its key.
#[derive(Debug, Clone)]
pub enum SigningKeySource {
    /// No key configured: every model from S3 is refused (fail closed).
    Unconfigured,
    /// A key given directly (tests, tools).
    Fixed(Arc<ModelSigningKey>),
    /// The SSM parameter, read once and shared.
    Ssm(Arc<SsmSigningKey>),
}

/// Why a model could not be checked against a key.
#[derive(Debug)]
pub enum KeyUnavailable {
    /// No key is configured at all.
    Unconfigured,
    /// The key could not be read (the port error says whether a retry may help).
    Unreadable(PortError),
}

impl SigningKeySource {
    /// The key from the parameter `name`, or [`SigningKeySource::Unconfigured`] for
    /// `None`.
    pub fn from_parameter(client: &aws_sdk_ssm::Client, name: Option<&str>) -> Self {
        match name {
            Some(n) => Self::Ssm(Arc::new(SsmSigningKey::new(client.clone(), n))),
            None => {
                tracing::error!(
                    "MODEL_SIGNING_KEY_PARAMETER is not set: every model in S3 is refused and scoring runs on rules only"
                );
                Self::Unconfigured
            }
        }
    }

    /// Verifies `artifact` at `object_key` against the key; when it does not verify
    /// with a key from SSM, the parameter is read once more (the key may have been
    /// rotated since the cold start) and the check repeated.
    pub async fn verify(
        &self,
        object_key: &str,
        artifact: &[u8],
        signature: Option<&str>,
    ) -> Result<Result<(), SignatureError>, KeyUnavailable> {
        match self {
            Self::Unconfigured => Err(KeyUnavailable::Unconfigured),
            Self::Fixed(k) => Ok(k.verify(object_key, artifact, signature)),
            Self::Ssm(s) => {
                let key = s.get().await.map_err(KeyUnavailable::Unreadable)?;
                match key.verify(object_key, artifact, signature) {
                    Err(SignatureError::Mismatch) => {
                        let fresh = match s.reload().await {
                            Ok(k) => k,
                            // The cached key said no; a failed re-read changes nothing.
                            Err(e) if e.retry == Retry::Retryable => {
                                return Err(KeyUnavailable::Unreadable(e));
                            }
                            Err(_) => return Ok(Err(SignatureError::Mismatch)),
                        };
                        if *fresh == *key {
                            Ok(Err(SignatureError::Mismatch))
                        } else {
                            tracing::info!(
                                parameter = s.parameter(),
                                "model signing key changed since cold start; using the new one"
                            );
                            Ok(fresh.verify(object_key, artifact, signature))
                        }
                    }
                    other => Ok(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "models/cloudtrail/model.bin";

    fn key(b: u8) -> ModelSigningKey {
        ModelSigningKey::from_bytes([b; KEY_BYTES])
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_bytes_and_object_key() {
        let k = key(1);
        let sig = k.sign(KEY, b"model bytes");
        assert!(sig.starts_with("hmac-sha256-v1:"), "{sig}");
        assert_eq!(k.verify(KEY, b"model bytes", Some(&sig)), Ok(()));
        let cases: [(&str, &ModelSigningKey, &str, &[u8]); 4] = [
            ("other bytes", &k, KEY, b"model bytez"),
            (
                "other object key",
                &k,
                "models/vpcflow/model.bin",
                b"model bytes",
            ),
            ("other signing key", &key(2), KEY, b"model bytes"),
            ("truncated bytes", &k, KEY, b"model byte"),
        ];
        for (case, k, object_key, bytes) in cases {
            assert_eq!(
                k.verify(object_key, bytes, Some(&sig)),
                Err(SignatureError::Mismatch),
                "{case}"
            );
        }
    }

    #[test]
    fn signature_is_standard_hmac_sha256_of_the_documented_message() {
        // Computed independently with Python's hmac module over
        // DOMAIN || u64le(len(object key)) || object key || bytes (docs/deploy.md).
        assert_eq!(
            key(1).sign(KEY, b"model bytes"),
            "hmac-sha256-v1:eeee6e22e259b18ff95c956cc41a33c141342d3bc681e287aac54a804fb185b9"
        );
    }

    #[test]
    fn object_key_and_bytes_cannot_be_resplit() {
        // Without the length prefix, ("ab", "c…") and ("a", "bc…") would MAC the same.
        let k = key(3);
        let sig = k.sign("models/a", b"bcontent");
        assert_eq!(
            k.verify("models/ab", b"content", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_signatures_are_refused() {
        let k = key(4);
        let good = k.sign(KEY, b"x");
        assert_eq!(k.verify(KEY, b"x", None), Err(SignatureError::Unsigned));
        for bad in [
            "",
            "deadbeef",
            &good[SCHEME.len() + 1..],
            &good.replace("v1", "v2"),
            &format!("{}0", good),
            &good.replace(':', "="),
        ] {
            assert_eq!(
                k.verify(KEY, b"x", Some(bad)),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_round_trip_through_hex_and_bad_text_is_refused() {
        let k = ModelSigningKey::from_bytes(std::array::from_fn(|i| i as u8 * 7));
        let text = k.to_hex();
        assert_eq!(text.len(), 64);
        assert_eq!(ModelSigningKey::from_hex(&format!(" {text}\n")).unwrap(), k);
        assert_eq!(ModelSigningKey::from_hex(&text.to_uppercase()).unwrap(), k);
        assert_eq!(
            ModelSigningKey::from_hex("abcd"),
            Err(KeyError::BadLength { found: 4 })
        );
        let mut bad = text.clone();
        bad.replace_range(10..11, "g");
        assert_eq!(
            ModelSigningKey::from_hex(&bad),
            Err(KeyError::NotHex { position: 10 })
        );
        // Multi-byte characters are a length problem, never a slicing panic.
        assert!(ModelSigningKey::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = key(0xab);
        assert!(!format!("{k:?}").contains("ab"), "{k:?}");
    }

    #[tokio::test]
    async fn an_unconfigured_source_refuses_and_a_fixed_one_verifies() {
        let k = key(5);
        let sig = k.sign(KEY, b"m");
        assert!(matches!(
            SigningKeySource::Unconfigured
                .verify(KEY, b"m", Some(&sig))
                .await,
            Err(KeyUnavailable::Unconfigured)
        ));
        let fixed = SigningKeySource::Fixed(Arc::new(k));
        assert!(matches!(
            fixed.verify(KEY, b"m", Some(&sig)).await,
            Ok(Ok(()))
        ));
        assert!(matches!(
            fixed.verify(KEY, b"n", Some(&sig)).await,
            Ok(Err(SignatureError::Mismatch))
        ));
    }
}
