//! The [`ModelSource`] on S3: the model artifact is read at cold start, kept across
//! invocations, and revalidated with a conditional GET (`If-None-Match` on the
//! ETag) at most once per refresh interval, so a new model uploaded to S3 is picked
//! up without a redeploy and an unchanged one costs one small request.

use crate::emf::Metrics;
use crate::error::{port_error, status};
use crate::s3::read_body;
use aws_sdk_s3::Client;
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
    },
    Absent(&'static str),
}

impl S3ModelSource {
    /// A model source for `s3://bucket/key`, revalidated at most every `refresh`
    /// (zero: on every call).
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
        refresh: Duration,
    ) -> Self {
        Self {
            client,
            object: ObjectRef {
                bucket: bucket.into(),
                key: key.into(),
            },
            refresh,
            state: Mutex::new(State::default()),
        }
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
                let bytes = read_body(out.body, declared, MAX_MODEL_BYTES, &self.object).await?;
                Ok(Found::Body { bytes, etag })
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

    fn refused(&self, reason: &str) {
        Metrics::new()
            .dimension("Source", "cloudtrail")
            .count("ModelRefused", 1)
            .property("ModelKey", self.object.to_string())
            .property("Reason", reason)
            .emit();
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
            Ok(Found::Body { bytes, etag }) => {
                match Model::from_bytes(&bytes) {
                    Ok(m) => {
                        tracing::info!(model = %model, version = m.version(), bytes = bytes.len(), "loaded model");
                        st.model = Some(Arc::new(m));
                    }
                    Err(e) => {
                        let keeping = st
                            .model
                            .as_deref()
                            .map_or("none (rules only)", |m| m.version());
                        tracing::error!(model = %model, error = %e, keeping, "model refused; scoring keeps the previous model or runs on rules only");
                        self.refused(&e.to_string());
                    }
                }
                st.etag = etag;
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
