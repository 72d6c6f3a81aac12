//! The [`ModelSource`] on S3: the model artifact is read at cold start, kept across
//! invocations, and revalidated with a conditional GET (`If-None-Match` on the
//! ETag) at most once per refresh interval, so a new model uploaded to S3 is picked
//! up without a redeploy and an unchanged one costs one small request.
//!
//! A model is loaded only if its signature (object metadata, see [`crate::signing`])
//! verifies against the stack's signing key; the check runs before the artifact is
//! parsed. An unsigned, mis-signed or unparsable model is refused with an ERROR line
//! and a `ModelRefused` metric naming the source, and the previous good model stays
//! in use. Without a configured key every model is refused (fail closed).

use crate::emf::Metrics;
use crate::error::{port_error, status};
use crate::s3::read_body;
use crate::signing::{KeyUnavailable, ModelSigningKey, SIGNATURE_METADATA, SigningKeySource};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::{ModelSource, ObjectRef, PortError, Retry};

/// Largest model artifact read (models are a few MB; this only guards memory).
pub const MAX_MODEL_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the model of one source from S3 and caches it.
#[derive(Debug)]
pub struct S3ModelSource {
    client: Client,
    object: ObjectRef,
    refresh: Duration,
    keys: SigningKeySource,
    /// The `Source` dimension of the refusal metric.
    source: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    model: Option<Arc<Model>>,
    /// ETag of the object last read, good or refused: a refused model is not
    /// downloaded again until it changes.
    etag: Option<String>,
    checked: Option<Instant>,
}

/// What a revalidation found.
enum Found {
    Unchanged,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        signature: Option<String>,
    },
    Absent(&'static str),
}

impl S3ModelSource {
    /// A model source for `s3://bucket/key`, revalidated at most every `refresh`
    /// (zero: on every call). It refuses every model until a key is given with
    /// [`S3ModelSource::with_signing_key`]. The metric's source is the key's folder
    /// (`models/<source>/…`) unless [`S3ModelSource::with_source`] names it.
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
        refresh: Duration,
    ) -> Self {
        let key = key.into();
        let source = source_of_key(&key).to_owned();
        Self {
            client,
            object: ObjectRef {
                bucket: bucket.into(),
                key,
            },
            refresh,
            keys: SigningKeySource::Unconfigured,
            source,
            state: Mutex::new(State::default()),
        }
    }

    /// Verifies models with `keys`.
    pub fn with_signing_key(mut self, keys: SigningKeySource) -> Self {
        self.keys = keys;
        self
    }

    /// Names the log source in the refusal metric and log lines.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The log source this model scores (the metric's `Source` dimension).
    pub fn source(&self) -> &str {
        &self.source
    }

    async fn fetch(&self, etag: Option<&str>) -> Result<Found, PortError> {
        let mut req = self
            .client
            .get_object()
            .bucket(&self.object.bucket)
            .key(&self.object.key);
        if let Some(etag) = etag {
            req = req.if_none_match(etag);
        }
        match req.send().await {
            Ok(out) => {
                let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
                let etag = out.e_tag().map(str::to_owned);
                let signature = out
                    .metadata()
                    .and_then(|m| m.get(SIGNATURE_METADATA))
                    .cloned();
                let bytes = read_body(out.body, declared, MAX_MODEL_BYTES, &self.object).await?;
                Ok(Found::Body {
                    bytes,
                    etag,
                    signature,
                })
            }
            Err(e) => match status(&e) {
                Some(304) => Ok(Found::Unchanged),
                Some(404) => Ok(Found::Absent("no model object")),
                // Without s3:ListBucket, S3 answers 403 for a missing key too.
                Some(403) => Ok(Found::Absent("access to the model object denied")),
                _ => Err(port_error(e, format_args!("GetObject {}", self.object))),
            },
        }
    }

    /// Verifies, then parses. `Ok(Err(reason))`: refused; `Err`: the key could not be
    /// read for a reason a retry may fix.
    async fn accept(
        &self,
        bytes: &[u8],
        signature: Option<&str>,
    ) -> Result<Result<Model, String>, PortError> {
        match self.keys.verify(&self.object.key, bytes, signature).await {
            Err(KeyUnavailable::Unconfigured) => Ok(Err(
                "no model signing key configured (MODEL_SIGNING_KEY_PARAMETER)".to_owned(),
            )),
            Err(KeyUnavailable::Unreadable(e)) if e.retry == Retry::Retryable => Err(e),
            Err(KeyUnavailable::Unreadable(e)) => {
                Ok(Err(format!("model signing key unreadable: {e}")))
            }
            Ok(Err(e)) => Ok(Err(e.to_string())),
            Ok(Ok(())) => Ok(Model::from_bytes(bytes).map_err(|e| e.to_string())),
        }
    }

    fn refused(&self, reason: &str) {
        self.refusal(reason).emit();
    }

    /// The `ModelRefused` metric, with the model's own source as its dimension.
    fn refusal(&self, reason: &str) -> Metrics {
        Metrics::new()
            .dimension("Source", &self.source)
            .count("ModelRefused", 1)
            .property("ModelKey", self.object.to_string())
            .property("Reason", reason)
    }
}

impl ModelSource for S3ModelSource {
    async fn current(&self) -> Result<Option<Arc<Model>>, PortError> {
        let mut st = self.state.lock().await;
        if st.checked.is_some_and(|t| t.elapsed() < self.refresh) {
            return Ok(st.model.clone());
        }
        let model = &self.object;
        match self.fetch(st.etag.as_deref()).await {
            Ok(Found::Unchanged) => {}
            Ok(Found::Body {
                bytes,
                etag,
                signature,
            }) => {
                match self.accept(&bytes, signature.as_deref()).await {
                    Ok(Ok(m)) => {
                        tracing::info!(model = %model, source = %self.source, version = m.version(), bytes = bytes.len(), "loaded signed model");
                        st.model = Some(Arc::new(m));
                        st.etag = etag;
                    }
                    Ok(Err(reason)) => {
                        let keeping = st
                            .model
                            .as_deref()
                            .map_or("none (rules only)", |m| m.version());
                        tracing::error!(model = %model, source = %self.source, reason = %reason, keeping, "model refused; scoring keeps the previous model or runs on rules only");
                        self.refused(&reason);
                        st.etag = etag;
                    }
                    // The ETag is not remembered, so the next check downloads it again.
                    Err(e) if st.model.is_some() => {
                        tracing::warn!(model = %model, source = %self.source, error = %e, "model signing key unreadable; keeping the cached model");
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Found::Absent(why)) => {
                // S3 is the truth: a deleted model means scoring on rules only.
                tracing::warn!(model = %model, reason = why, "no usable model; scoring runs on rules only");
                self.refused(why);
                st.model = None;
                st.etag = None;
            }
            Err(e) if e.retry == Retry::Retryable && st.model.is_some() => {
                tracing::warn!(model = %model, error = %e, "model revalidation failed; keeping the cached model");
            }
            Err(e) => {
                // No cached model and S3 is unreachable: fail so Lambda retries rather
                // than silently scoring a whole object without the model.
                if e.retry == Retry::Retryable {
                    return Err(e);
                }
                tracing::warn!(model = %model, error = %e, "model unreadable; scoring runs on rules only");
                self.refused("model unreadable");
                st.model = None;
            }
        }
        st.checked = Some(Instant::now());
        Ok(st.model.clone())
    }
}

/// `cloudtrail` of `models/cloudtrail/model.bin`; the whole key when it has no folder.
fn source_of_key(key: &str) -> &str {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("models"), Some(source), Some(_)) if !source.is_empty() => source,
        _ => key,
    }
}

/// What [`push_model`] uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedModel {
    /// The model's version string.
    pub version: String,
    /// The ETag S3 gave the object (functions revalidate against it).
    pub etag: Option<String>,
}

/// Signs a model artifact and uploads it where the ingest functions read it
/// (`MODEL_BUCKET`/`MODEL_KEY`), bytes and signature in one `PutObject`. The artifact
/// is checked first: a model this build would refuse, or a model of another source
/// than the key's `models/<source>/` folder, is never uploaded.
pub async fn push_model(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    signing_key: &ModelSigningKey,
) -> Result<PushedModel, PortError> {
    let refuse = |why: String| {
        PortError::non_retryable(format!("refusing to push s3://{bucket}/{key}: {why}"))
    };
    let model = Model::from_bytes(&bytes).map_err(|e| refuse(e.to_string()).with_source(e))?;
    let folder = source_of_key(key);
    if folder != key && folder != model.source {
        return Err(refuse(format!(
            "it is a {} model and the key is the {folder} model's",
            model.source
        )));
    }
    let signature = signing_key.sign(key, &bytes);
    let out = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/octet-stream")
        .metadata("trailhound-model-version", model.version())
        .metadata(SIGNATURE_METADATA, signature)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| port_error(e, format_args!("PutObject s3://{bucket}/{key}")))?;
    Ok(PushedModel {
        version: model.version().to_owned(),
        etag: out.e_tag().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .build(),
        )
    }

    #[test]
    fn refused_model_metric_names_its_own_source() {
        // Regression: every refusal was counted under Source=cloudtrail, so a refused
        // vpcflow or access_log model (logs-ingest) showed up on the wrong graph.
        let src = S3ModelSource::new(client(), "b", "models/vpcflow/model.bin", Duration::ZERO);
        let doc = src.refusal("unsigned model").to_json(0);
        assert_eq!(doc["Source"], "vpcflow", "{doc}");
        assert_eq!(doc["ModelRefused"], 1.0, "{doc}");
        let named = S3ModelSource::new(client(), "b", "custom.bin", Duration::ZERO)
            .with_source("access_log");
        assert_eq!(named.refusal("x").to_json(0)["Source"], "access_log");
    }

    #[test]
    fn the_metric_source_is_the_key_folder() {
        for (key, source) in [
            ("models/cloudtrail/model.bin", "cloudtrail"),
            ("models/vpcflow/model.bin", "vpcflow"),
            ("models/access_log/v2/model.bin", "access_log"),
            ("model.bin", "model.bin"),
            ("models//model.bin", "models//model.bin"),
        ] {
            assert_eq!(source_of_key(key), source, "{key}");
        }
    }
}
