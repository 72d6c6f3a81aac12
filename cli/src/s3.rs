//! CloudTrail logs in S3, for `scan s3://…` and `train s3://…`: finding the log files
//! under a URL and downloading them.
//!
//! CloudTrail writes `[KEY_PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`
//! (an organization trail adds the `o-…` level; digests go to `CloudTrail-Digest/`).
//! Under a URL at or above a region, the layout is walked level by level with
//! delimiter listings, so that a day window (`--since`) lists only the day folders
//! it needs, never the whole bucket. Anything else (a layout this does not know, or a
//! URL inside a day) is listed flat and filtered by the date in each key.

use anyhow::{Context, Result, bail};
use std::future::Future;
use trailhound_core::ports::ObjectRef;
use trailhound_core::sources::cloudtrail::{KeyKind, key_kind};
use trailhound_core::timefmt::{civil_from_days, days_from_civil};

/// Listing requests in flight at once.
const LIST_CONCURRENCY: usize = 16;

/// A log object found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogObject {
    /// Bucket and key.
    pub object: ObjectRef,
    /// Size as stored (gzip), in bytes.
    pub size: u64,
}

/// What a listing found, besides the log files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// CloudTrail log files, sorted by bucket and key, without duplicates.
    pub objects: Vec<LogObject>,
    /// Digest files seen and left out.
    pub digests: usize,
    /// Keys left out because the day window was set and they carry no date.
    pub undated: usize,
}

impl LogObject {
    /// Sorts by bucket and key and drops repeats.
    fn sort_dedup(objects: &mut Vec<LogObject>) {
        objects.sort_by(|a, b| {
            (&a.object.bucket, &a.object.key).cmp(&(&b.object.bucket, &b.object.key))
        });
        objects.dedup_by(|a, b| a.object == b.object);
    }
}

impl Listing {
    /// Bytes of every log file, as stored.
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }
}

/// Splits `s3://bucket/prefix`.
pub fn parse(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("s3://").context("not an s3:// URL")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("{url}: no bucket name");
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Today as days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// The first day (days since 1970-01-01) of a `--since` window ending `today`:
/// `Nd` is the last N days, today included (`1d` is today only); `YYYY-MM-DD` is that
/// day onwards.
pub fn since_first_day(spec: &str, today: i64) -> Result<i64> {
    let spec = spec.trim();
    if let Some(n) = spec.strip_suffix('d') {
        let n: i64 = n
            .parse()
            .ok()
            .filter(|n| (1..=36_500).contains(n))
            .with_context(|| format!("--since {spec}: expected a number of days such as 14d"))?;
        return Ok(today - (n - 1));
    }
    parse_date(spec)
        .with_context(|| format!("--since {spec}: expected Nd (e.g. 14d) or a date YYYY-MM-DD"))
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    ymd(y, m, d)
}

/// A valid date from its year, month and day digits (4, 2 and 2 of them).
fn ymd(y: &str, m: &str, d: &str) -> Option<i64> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 || d > trailhound_core::timefmt::days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The day of a CloudTrail key or path: the `YYYY/MM/DD` folders after
/// `CloudTrail/REGION/`, or else the first such triple of folders anywhere.
pub fn key_day(key: &str) -> Option<i64> {
    let segs: Vec<&str> = key.split(['/', '\\']).collect();
    let triple = |i: usize| match segs.get(i..i + 3) {
        // The last segment is the file name, never a day folder.
        Some([y, m, d]) if i + 3 < segs.len() => ymd(y, m, d),
        _ => None,
    };
    if let Some(i) = segs.iter().rposition(|s| *s == "CloudTrail")
        && let Some(day) = triple(i + 2)
    {
        return Some(day);
    }
    (0..segs.len()).find_map(triple)
}

/// The day folder `YYYY/MM/DD/` of a day number.
fn day_folder(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}/{m:02}/{d:02}/")
}

/// Where a prefix stands in the CloudTrail layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Above `AWSLogs/`: the trail's key prefix, or the bucket root.
    Root,
    /// `…/AWSLogs/`: organization ids or accounts below.
    AwsLogs,
    /// `…/AWSLogs/o-…/`: accounts below.
    Org,
    /// `…/ACCOUNT/`: `CloudTrail/`, `CloudTrail-Digest/` and other services below.
    Account,
    /// `…/ACCOUNT/CloudTrail/`: regions below.
    Service,
    /// `…/CloudTrail/REGION/`: day folders below.
    Region,
    /// Anything else (inside a day, another service, an unknown layout): listed flat.
    Flat,
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_org(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The level of a prefix that ends with `/` (or is empty).
fn level(prefix: &str) -> Level {
    let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
    let Some(at) = segs.iter().position(|s| *s == "AWSLogs") else {
        return Level::Root;
    };
    let mut rest = &segs[at + 1..];
    let Some(first) = rest.first() else {
        return Level::AwsLogs;
    };
    if is_org(first) {
        rest = &rest[1..];
        if rest.is_empty() {
            return Level::Org;
        }
    }
    match rest {
        [a] if is_account(a) => Level::Account,
        [a, "CloudTrail"] if is_account(a) => Level::Service,
        [a, "CloudTrail", _region] if is_account(a) => Level::Region,
        _ => Level::Flat,
    }
}

/// The two listings the walk needs; implemented on S3, and in memory for tests.
pub trait Lister: Clone + Send + Sync + 'static {
    /// The "folders" right under `prefix` (common prefixes for delimiter `/`).
    fn folders(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Every object under `prefix` (folder markers left out), with its size.
    fn objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<LogObject>>> + Send;
}

/// Folders above `AWSLogs/` searched for it (a trail key prefix may have levels).
const ROOT_DEPTH: usize = 3;
/// A folder above `AWSLogs/` with more sub-folders than this is not searched.
const ROOT_FANOUT: usize = 100;

/// The `AWSLogs/` folders at most [`ROOT_DEPTH`] levels under a prefix above them.
async fn find_awslogs<L: Lister>(lister: &L, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut level_prefixes = vec![prefix.to_owned()];
    for _ in 0..ROOT_DEPTH {
        let mut next = Vec::new();
        for p in level_prefixes {
            let children = lister.folders(bucket, &p).await?;
            if children.len() > ROOT_FANOUT {
                continue;
            }
            for c in children {
                match level(&c) {
                    Level::AwsLogs => found.push(c),
                    Level::Root => next.push(c),
                    _ => {}
                }
            }
        }
        level_prefixes = next;
    }
    Ok(found)
}

/// The prefixes to list in full under `prefix`: region prefixes (`…/CloudTrail/REGION/`)
/// where the layout is known, else `prefix` itself, flat (no `AWSLogs/` found in
/// reach, or a prefix inside a day or another service).
async fn region_prefixes<L: Lister>(
    lister: &L,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, Level)>> {
    let mut todo = if level(prefix) == Level::Root {
        let found = find_awslogs(lister, bucket, prefix).await?;
        if found.is_empty() {
            return Ok(vec![(prefix.to_owned(), Level::Flat)]);
        }
        found
    } else {
        vec![prefix.to_owned()]
    };
    let mut out = Vec::new();
    while let Some(p) = todo.pop() {
        let here = level(&p);
        let wanted: fn(Level) -> bool = match here {
            Level::Region | Level::Flat | Level::Root => {
                out.push((p, here));
                continue;
            }
            Level::AwsLogs => |l| matches!(l, Level::Org | Level::Account),
            Level::Org => |l| l == Level::Account,
            Level::Account => |l| l == Level::Service,
            Level::Service => |l| l == Level::Region,
        };
        let children = lister.folders(bucket, &p).await?;
        todo.extend(children.into_iter().filter(|c| wanted(level(c))));
    }
    out.sort();
    Ok(out)
}

/// The CloudTrail log files under `s3://bucket/prefix`, dated (by the date in the
/// key) within `window` = (first day, last day) when it is set.
pub async fn find<L: Lister>(
    lister: &L,
    bucket: &str,
    prefix: &str,
    window: Option<(i64, i64)>,
) -> Result<Listing> {
    let last = prefix.rsplit('/').next().unwrap_or("");
    let prefix = if prefix.is_empty() || prefix.ends_with('/') || key_kind(last) != KeyKind::Other {
        prefix.to_owned()
    } else {
        // `s3://bucket/myprefix` names the folder `myprefix/`.
        format!("{prefix}/")
    };
    let starts = if key_kind(last) == KeyKind::Other {
        region_prefixes(lister, bucket, &prefix).await?
    } else {
        vec![(prefix.clone(), Level::Flat)]
    };
    // One listing per region and day when the window is set and the layout known.
    let mut lists = Vec::new();
    for (p, l) in starts {
        match (l, window) {
            (Level::Region, Some((first, today))) => {
                lists.extend((first..=today).map(|d| format!("{p}{}", day_folder(d))));
            }
            _ => lists.push(p),
        }
    }
    let mut set = tokio::task::JoinSet::new();
    let mut found = Vec::new();
    for p in lists {
        if set.len() >= LIST_CONCURRENCY
            && let Some(r) = set.join_next().await
        {
            found.extend(r.context("a listing task failed")??);
        }
        let (lister, bucket) = (lister.clone(), bucket.to_owned());
        set.spawn(async move { lister.objects(&bucket, &p).await });
    }
    while let Some(r) = set.join_next().await {
        found.extend(r.context("a listing task failed")??);
    }
    let mut listing = Listing::default();
    for o in found {
        match key_kind(&o.object.key) {
            KeyKind::Digest => listing.digests += 1,
            KeyKind::Other => {}
            KeyKind::LogFile => {
                if let Some((first, today)) = window {
                    match key_day(&o.object.key) {
                        Some(d) if (first..=today).contains(&d) => {}
                        Some(_) => continue,
                        None => {
                            listing.undated += 1;
                            continue;
                        }
                    }
                }
                listing.objects.push(o);
            }
        }
    }
    LogObject::sort_dedup(&mut listing.objects);
    Ok(listing)
}

/// [`Lister`] on an S3 client.
#[derive(Debug, Clone)]
pub struct S3Lister(pub aws_sdk_s3::Client);

impl Lister for S3Lister {
    async fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let mut pages = self
            .0
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                anyhow::anyhow!(
                    "ListObjectsV2 s3://{bucket}/{prefix}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
            out.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|c| c.prefix().map(str::to_owned)),
            );
        }
        Ok(out)
    }

    async fn objects(&self, bucket: &str, prefix: &str) -> Result<Vec<LogObject>> {
        let mut pages = self
            .0
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                anyhow::anyhow!(
                    "ListObjectsV2 s3://{bucket}/{prefix}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
            for o in page.contents() {
                if let Some(key) = o.key().filter(|k| !k.ends_with('/')) {
                    out.push(LogObject {
                        object: ObjectRef {
                            bucket: bucket.to_owned(),
                            key: key.to_owned(),
                        },
                        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// An S3 client from the standard credential chain (`AWS_ENDPOINT_URL` for emulators).
pub async fn client() -> aws_sdk_s3::Client {
    let config = trailhound_aws::load_sdk_config().await;
    trailhound_aws::s3_client(&config)
}

/// Lists the CloudTrail log files under each URL (digests and other keys left out),
/// within the day window `(first day, today)` when it is set.
pub async fn list(
    urls: &[String],
    window: Option<(i64, i64)>,
) -> Result<(aws_sdk_s3::Client, Listing)> {
    let client = client().await;
    let lister = S3Lister(client.clone());
    let mut all = Listing::default();
    for url in urls {
        let (bucket, prefix) = parse(url)?;
        let l = find(&lister, &bucket, &prefix, window)
            .await
            .with_context(|| format!("cannot list {url}"))?;
        all.objects.extend(l.objects);
        all.digests += l.digests;
        all.undated += l.undated;
    }
    LogObject::sort_dedup(&mut all.objects);
    if all.objects.is_empty() {
        let since = window.map(|(first, _)| {
            let (y, m, d) = civil_from_days(first);
            format!(" dated {y:04}-{m:02}-{d:02} or later")
        });
        bail!(
            "no CloudTrail log files under {}{}",
            urls.join(" "),
            since.unwrap_or_default()
        );
    }
    Ok((client, all))
}

/// [`list`] for `scan`: every log file under the `s3://` paths, no day window.
pub fn list_paths(urls: &[std::path::PathBuf]) -> Result<(aws_sdk_s3::Client, Vec<ObjectRef>)> {
    let urls: Vec<String> = urls
        .iter()
        .map(|u| u.to_string_lossy().into_owned())
        .collect();
    let (client, listing) = crate::commands::block_on(list(&urls, None))?;
    Ok((
        client,
        listing.objects.into_iter().map(|o| o.object).collect(),
    ))
}

#[cfg(test)]
mod tests;
