//! S3: the [`ObjectSource`] the ingest function reads CloudTrail files from, listing
//! for `s3://bucket/prefix` scans (models are uploaded by [`crate::model::push_model`]).

use crate::error::port_error;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use std::io::Cursor;
use trailhound_core::ports::{ObjectBody, ObjectRef, ObjectSource, PortError};

/// Reads objects from S3 into memory, refusing bodies larger than a cap.
///
/// The body is buffered because the core reads synchronously; the cap keeps a
/// 128 MB Lambda safe (CloudTrail log files are a few MB gzipped), and the core caps
/// the decompressed size separately.
#[derive(Debug, Clone)]
pub struct S3ObjectSource {
    client: Client,
    max_bytes: u64,
}

impl S3ObjectSource {
    /// An object source refusing bodies over `max_bytes` (as stored, before
    /// decompression).
    pub fn new(client: Client, max_bytes: u64) -> Self {
        Self { client, max_bytes }
    }
}

impl ObjectSource for S3ObjectSource {
    async fn fetch(&self, object: &ObjectRef) -> Result<ObjectBody, PortError> {
        if object.bucket.is_empty() {
            return Err(PortError::non_retryable(format!("{object} has no bucket")));
        }
        let out = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|e| port_error(e, format_args!("GetObject {object}")))?;
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        let bytes = read_body(out.body, declared, self.max_bytes, object).await?;
        Ok(Box::new(Cursor::new(bytes)))
    }
}

/// Collects a body, failing (not retryable) as soon as it is known to exceed `cap`.
pub(crate) async fn read_body(
    mut body: ByteStream,
    declared: Option<u64>,
    cap: u64,
    object: &ObjectRef,
) -> Result<Vec<u8>, PortError> {
    let too_large =
        || PortError::non_retryable(format!("{object} is larger than the cap of {cap} bytes"));
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let capacity = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut buf = Vec::with_capacity(capacity);
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => {
                if (buf.len() + chunk.len()) as u64 > cap {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // The connection broke or stalled mid-body: a later attempt can succeed.
            Err(e) => {
                return Err(
                    PortError::retryable(format!("reading the body of {object} failed"))
                        .with_source(e),
                );
            }
        }
    }
    Ok(buf)
}

/// Lists every object under `prefix` in `bucket`, following continuation tokens.
/// Keys ending in `/` (folder markers) are left out.
pub async fn list_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectRef>, PortError> {
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| port_error(e, format_args!("ListObjectsV2 s3://{bucket}/{prefix}")))?;
        for obj in page.contents() {
            if let Some(key) = obj.key().filter(|k| !k.ends_with('/')) {
                out.push(ObjectRef {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                });
            }
        }
    }
    Ok(out)
}
