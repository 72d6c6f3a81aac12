//! How CloudTrail lays records out in S3: one gzipped `{"Records":[…]}` file per
//! region and ~5-minute delivery window, named by delivery time, and an hourly,
//! chained digest file per region listing the log files delivered in that hour.

use super::cloudtrail::SimObject;
use super::ids::{alnum, hex, stream};
use super::record::Event;
use super::timefmt::{DAY, folder, iso, stamp_minutes, stamp_seconds};
use flate2::{Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;

/// Seconds per delivery window.
pub(crate) const WINDOW: i64 = 300;
const WINDOWS_PER_DAY: i64 = DAY / WINDOW;

/// The delivery window (0..288) of a record: its time plus a delivery lag of up to
/// 90 s, derived from its event id so it needs no random stream.
pub(crate) fn window(ev: &Event, day_start: i64) -> i64 {
    let lag = ev
        .event_id
        .bytes()
        .take(4)
        .fold(0i64, |a, b| a * 31 + i64::from(b))
        % 90;
    ((ev.t - day_start + lag) / WINDOW).clamp(0, WINDOWS_PER_DAY - 1)
}

/// Gzip with a fixed header (no name, no mtime) so output is byte-stable.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(bytes.len() / 6), Compression::new(6));
    enc.write_all(bytes)?;
    enc.finish()
}

/// What a digest needs to know about a delivered log file.
#[derive(Debug, Clone)]
pub(crate) struct FileInfo {
    pub region: String,
    pub key: String,
    pub sha256: String,
    pub oldest: i64,
    pub newest: i64,
    pub delivered: i64,
}

/// Builds the log file of `records` (all in `region`) delivered at `delivered`.
pub(crate) fn log_file(
    seed: u64,
    account: &str,
    region: &str,
    delivered: i64,
    records: &[&Event],
) -> std::io::Result<(SimObject, FileInfo)> {
    let size: usize = records.iter().map(|e| e.json.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 16);
    body.extend_from_slice(b"{\"Records\":[");
    for (i, e) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e.json.as_bytes());
    }
    body.extend_from_slice(b"]}");
    let sha256 = hex_digest(&body);
    let region_tag = region
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(131).wrapping_add(u64::from(b)));
    let mut rng = stream(seed, "file", region_tag ^ delivered as u64);
    let key = format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{}.json.gz",
        folder(delivered),
        stamp_minutes(delivered),
        alnum(&mut rng, 16)
    );
    let oldest = records.iter().map(|e| e.t).min().unwrap_or(delivered);
    let newest = records.iter().map(|e| e.t).max().unwrap_or(delivered);
    let info = FileInfo {
        region: region.to_owned(),
        key: key.clone(),
        sha256,
        oldest,
        newest,
        delivered,
    };
    Ok((
        SimObject {
            key,
            body: gzip(&body)?,
        },
        info,
    ))
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DigestLogFile<'a> {
    s3_bucket: &'a str,
    s3_object: &'a str,
    hash_value: &'a str,
    hash_algorithm: &'static str,
    newest_event_time: String,
    oldest_event_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DigestDoc<'a> {
    aws_account_id: &'a str,
    digest_start_time: String,
    digest_end_time: String,
    digest_s3_bucket: &'a str,
    digest_s3_object: &'a str,
    digest_public_key_fingerprint: &'a str,
    digest_signature_algorithm: &'static str,
    newest_event_time: Option<String>,
    oldest_event_time: Option<String>,
    previous_digest_s3_bucket: Option<&'a str>,
    previous_digest_s3_object: Option<&'a str>,
    previous_digest_hash_value: Option<&'a str>,
    previous_digest_hash_algorithm: Option<&'static str>,
    previous_digest_signature: Option<&'a str>,
    log_files: Vec<DigestLogFile<'a>>,
}

/// The last digest of a region, which the next one chains to.
#[derive(Debug, Clone)]
struct Previous {
    key: String,
    sha256: String,
    signature: String,
}

/// Hourly digest writer; keeps each region's chain across days.
pub(crate) struct Digests {
    seed: u64,
    account: String,
    bucket: String,
    fingerprint: String,
    /// Seconds past the hour the digests close at (each trail has its own).
    offset: i64,
    previous: BTreeMap<String, Previous>,
}

impl Digests {
    /// A digest writer for the trail's bucket.
    pub fn new(seed: u64, account: &str, bucket: &str, fingerprint: &str) -> Self {
        let offset = 30 + (super::ids::sub_seed(seed, "digest-offset", 0) % 240) as i64;
        Self {
            seed,
            account: account.to_owned(),
            bucket: bucket.to_owned(),
            fingerprint: fingerprint.to_owned(),
            offset,
            previous: BTreeMap::new(),
        }
    }

    /// The 24 digests per region closing within the day starting at `day_start`,
    /// covering `files` (every file delivered that day; delivery times never come
    /// within `offset` of the next midnight, so no digest spans two days' files).
    pub fn day(
        &mut self,
        day_start: i64,
        regions: &[String],
        files: &[FileInfo],
    ) -> std::io::Result<Vec<SimObject>> {
        let mut out = Vec::with_capacity(regions.len() * 24);
        for region in regions {
            for h in 0..24 {
                let end = day_start + (h + 1) * 3600 + self.offset;
                let start = end - 3600;
                let mine: Vec<&FileInfo> = files
                    .iter()
                    .filter(|f| &f.region == region && f.delivered >= start && f.delivered < end)
                    .collect();
                out.push(self.digest(region, start, end, &mine)?);
            }
        }
        Ok(out)
    }

    fn digest(
        &mut self,
        region: &str,
        start: i64,
        end: i64,
        files: &[&FileInfo],
    ) -> std::io::Result<SimObject> {
        let account = self.account.as_str();
        let key = format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{}.json.gz",
            folder(end),
            stamp_seconds(end)
        );
        let prev = self.previous.get(region).cloned();
        let doc = DigestDoc {
            aws_account_id: account,
            digest_start_time: iso(start),
            digest_end_time: iso(end),
            digest_s3_bucket: &self.bucket,
            digest_s3_object: &key,
            digest_public_key_fingerprint: &self.fingerprint,
            digest_signature_algorithm: "SHA256withRSA",
            newest_event_time: files.iter().map(|f| f.newest).max().map(iso),
            oldest_event_time: files.iter().map(|f| f.oldest).min().map(iso),
            previous_digest_s3_bucket: prev.as_ref().map(|_| self.bucket.as_str()),
            previous_digest_s3_object: prev.as_ref().map(|p| p.key.as_str()),
            previous_digest_hash_value: prev.as_ref().map(|p| p.sha256.as_str()),
            previous_digest_hash_algorithm: prev.as_ref().map(|_| "SHA-256"),
            previous_digest_signature: prev.as_ref().map(|p| p.signature.as_str()),
            log_files: files
                .iter()
                .map(|f| DigestLogFile {
                    s3_bucket: &self.bucket,
                    s3_object: &f.key,
                    hash_value: &f.sha256,
                    hash_algorithm: "SHA-256",
                    newest_event_time: iso(f.newest),
                    oldest_event_time: iso(f.oldest),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&doc).map_err(std::io::Error::other)?;
        // The signature travels in S3 metadata; the next digest quotes it, so invent one.
        let mut rng = stream(
            self.seed,
            "digest-signature",
            end as u64 ^ (region.len() as u64) << 56,
        );
        let signature = hex(&mut rng, 512);
        self.previous.insert(
            region.to_owned(),
            Previous {
                key: key.clone(),
                sha256: hex_digest(&body),
                signature,
            },
        );
        Ok(SimObject {
            key,
            body: gzip(&body)?,
        })
    }
}
