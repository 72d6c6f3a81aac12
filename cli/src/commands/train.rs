//! `trailhound train`: learn a model from CloudTrail files, local or in S3
//! (`s3://bucket/prefix`, the trail's own bucket), or from subscription files.
//!
//! S3 objects are downloaded once into a temporary folder (as stored, gzip) and
//! then read like local files: training reads its input twice (frequencies, then
//! features), and the second pass must see the same bytes in the same order.

use super::logs::{SourceArg, subscription_files, train_logs};
use crate::ReadOpts;
use crate::files::cloudtrail_files;
use crate::s3::{self, LogObject, key_day};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::decode::Limits;
use trailhound_core::models::artifact::{Encoder, Model};
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::models::train::train_cloudtrail;
use trailhound_core::ports::ObjectSource;
use trailhound_core::sources::cloudtrail::CtBatch;
use trailhound_core::timefmt::format_rfc3339;

/// Downloads in flight at once.
const DOWNLOAD_CONCURRENCY: usize = 8;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudTrail files or directories (walked; `.json.gz` and `.json`; digests skipped),
    /// `s3://bucket/prefix` (the log files of a trail's bucket: ordinary and
    /// organization trails, with or without a key prefix), or with `--source
    /// vpcflow|access-log` subscription event files (`.jsonl`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, default_value = "model.bin")]
    pub out: PathBuf,
    /// Only CloudTrail files of the last N days by the date in their key or path
    /// (`14d`: today and the 13 days before), or from a day on (`2024-05-01`). Files
    /// without a date are left out. In S3, only those days' folders are listed.
    #[arg(long, value_name = "Nd|YYYY-MM-DD")]
    pub since: Option<String>,
    /// Trees in the forest.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Rows per tree.
    #[arg(long, default_value_t = 256)]
    pub max_samples: usize,
    /// Random seed of the forest.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Log source: `vpcflow` or `access-log` train on subscription event files
    /// (`events.jsonl`); without it, CloudTrail files.
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    #[command(flatten)]
    pub read: ReadOpts,
}

/// Reads one file, or hands `warn` the reason and returns `None`.
fn read_or_warn(path: &Path, limits: &Limits, warn: impl FnOnce(String)) -> Option<CtBatch> {
    let result = File::open(path).map_err(anyhow::Error::from).and_then(|f| {
        CtBatch::read(BufReader::with_capacity(256 * 1024, f), limits).map_err(Into::into)
    });
    match result {
        Ok(b) => Some(b),
        Err(e) => {
            warn(format!("warning: skipping {}: {e:#}", path.display()));
            None
        }
    }
}

/// What the first pass saw beyond the model's own counts.
#[derive(Debug, Default)]
pub struct Seen {
    /// Distinct UTC days with events.
    pub days: BTreeSet<i64>,
    /// Decompressed bytes read.
    pub bytes: u64,
}

/// A bar over `len` files whose message counts events.
fn files_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>11} [{bar:30}] {pos}/{len} files, {msg} {elapsed} ({eta} left)",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_owned());
    pb
}

/// Trains a model from files (shared with `demo`).
pub fn train_files(
    files: &[PathBuf],
    params: &IsolationForestParams,
    limits: &Limits,
) -> Result<Model> {
    Ok(train_files_seen(files, params, limits)?.0)
}

/// Trains a model from files, with what the first pass saw.
pub fn train_files_seen(
    files: &[PathBuf],
    params: &IsolationForestParams,
    limits: &Limits,
) -> Result<(Model, Seen)> {
    let pass = Cell::new(0);
    let seen = RefCell::new(Seen::default());
    let model = train_cloudtrail(
        || {
            pass.set(pass.get() + 1);
            let first = pass.get() == 1;
            let pb = files_bar(
                files.len() as u64,
                if first { "learning" } else { "encoding" },
            );
            let events = Cell::new(0u64);
            let seen = &seen;
            files.iter().filter_map(move |p| {
                let batch = read_or_warn(p, limits, |w| pb.suspend(|| eprintln!("{w}")));
                if let Some(b) = &batch {
                    events.set(events.get() + b.events.len() as u64);
                    if first && let Ok(mut s) = seen.try_borrow_mut() {
                        s.bytes += b.bytes;
                        s.days
                            .extend(b.events.iter().map(|e| e.time.div_euclid(86_400)));
                    }
                }
                pb.set_message(format!("{} events", events.get()));
                pb.inc(1);
                if pb.position() == pb.length().unwrap_or(0) {
                    pb.finish_and_clear();
                }
                batch
            })
        },
        params,
    )?;
    Ok((model, seen.into_inner()))
}

/// CloudTrail log files of a training run: local files and S3 objects downloaded
/// into `spool`, in a fixed order (local paths sorted, then objects by key).
struct Inputs {
    files: Vec<PathBuf>,
    /// Where the files came from, for the summary.
    from: String,
    /// S3 objects that could not be downloaded.
    failed: u64,
}

/// Finds (and for S3, downloads) the CloudTrail files under `paths`.
fn cloudtrail_inputs(
    paths: &[PathBuf],
    window: Option<(i64, i64)>,
    cap: u64,
    spool: &Path,
) -> Result<Inputs> {
    let (urls, local): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| p.to_string_lossy().starts_with("s3://"));
    let mut files = Vec::new();
    let mut from = Vec::new();
    if !local.is_empty() {
        let (found, digests) = cloudtrail_files(&local)?;
        let n = found.len();
        files.extend(found.into_iter().filter(|p| in_window(p, window)));
        let mut said = format!("{} local files", files.len());
        if digests > 0 {
            said.push_str(&format!(", {digests} digest files left out"));
        }
        if n > files.len() {
            said.push_str(&format!(", {} outside --since left out", n - files.len()));
        }
        from.push(said);
    }
    let mut failed = 0;
    if !urls.is_empty() {
        let urls: Vec<String> = urls
            .iter()
            .map(|u| u.to_string_lossy().into_owned())
            .collect();
        let (downloaded, n_failed, said) = super::block_on(fetch_all(&urls, window, cap, spool))?;
        files.extend(downloaded);
        failed = n_failed;
        from.push(said);
    }
    if files.is_empty() {
        bail!(
            "no CloudTrail log files to train on{}",
            match window {
                Some(_) => " in the --since window",
                None => "",
            }
        );
    }
    Ok(Inputs {
        files,
        from: from.join(", "),
        failed,
    })
}

/// Whether a local file's date (in its path) is inside the window; every file is
/// when there is no window, none without a date when there is one.
fn in_window(path: &Path, window: Option<(i64, i64)>) -> bool {
    match window {
        None => true,
        Some((first, last)) => {
            key_day(&path.to_string_lossy()).is_some_and(|d| (first..=last).contains(&d))
        }
    }
}

/// Lists the CloudTrail log files under `urls` and downloads them into `spool`,
/// returning the files (in key order), the number that failed and a line saying
/// what was listed.
async fn fetch_all(
    urls: &[String],
    window: Option<(i64, i64)>,
    cap: u64,
    spool: &Path,
) -> Result<(Vec<PathBuf>, u64, String)> {
    let (client, listing) = s3::list(urls, window).await?;
    let mut said = format!(
        "{} S3 objects ({})",
        listing.objects.len(),
        human_bytes(listing.bytes())
    );
    if listing.digests > 0 {
        said.push_str(&format!(", {} digest files left out", listing.digests));
    }
    if listing.undated > 0 {
        said.push_str(&format!(
            ", {} files without a date left out",
            listing.undated
        ));
    }
    let pb = ProgressBar::new(listing.bytes());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>11} [{bar:30}] {bytes}/{total_bytes}, {msg} {elapsed} ({eta} left)",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix("downloading");
    let source = trailhound_aws::S3ObjectSource::new(client, cap);
    let total = listing.objects.len();
    let mut set = tokio::task::JoinSet::new();
    let mut done: Vec<(usize, Option<PathBuf>)> = Vec::with_capacity(total);
    let mut finish = |r: Result<(usize, u64, Result<PathBuf>), tokio::task::JoinError>| {
        let (i, size, result) = r.context("a download task failed")?;
        pb.inc(size);
        let path = match result {
            Ok(p) => Some(p),
            Err(e) => {
                pb.suspend(|| eprintln!("warning: skipping {e:#}"));
                None
            }
        };
        done.push((i, path));
        pb.set_message(format!("{}/{total} objects", done.len()));
        anyhow::Ok(())
    };
    for (i, o) in listing.objects.into_iter().enumerate() {
        if set.len() >= DOWNLOAD_CONCURRENCY
            && let Some(r) = set.join_next().await
        {
            finish(r)?;
        }
        let (source, spool) = (source.clone(), spool.to_owned());
        set.spawn(async move {
            let result = download(&source, &o, &spool, i).await;
            (i, o.size, result)
        });
    }
    while let Some(r) = set.join_next().await {
        finish(r)?;
    }
    pb.finish_and_clear();
    done.sort_by_key(|(i, _)| *i);
    let failed = done.iter().filter(|(_, p)| p.is_none()).count() as u64;
    Ok((
        done.into_iter().filter_map(|(_, p)| p).collect(),
        failed,
        said,
    ))
}

/// Downloads one object into `spool` under a name that keeps the key order and
/// the file name (so its kind is still known).
async fn download(
    source: &trailhound_aws::S3ObjectSource,
    o: &LogObject,
    spool: &Path,
    index: usize,
) -> Result<PathBuf> {
    let name = o.object.key.rsplit('/').next().unwrap_or("object.json.gz");
    let path = spool.join(format!("{index:08}-{name}"));
    let mut body = source
        .fetch(&o.object)
        .await
        .with_context(|| format!("cannot read {}", o.object))?;
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", o.object))?;
    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Runs `train`.
pub fn run(a: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let limits = Limits {
        max_decompressed_bytes: a.read.max_decompressed_bytes,
        ..Limits::default()
    };
    let params = IsolationForestParams {
        n_trees: a.trees,
        max_samples: a.max_samples,
        seed: a.seed,
    };
    let today = s3::today();
    let window = a
        .since
        .as_deref()
        .map(|s| s3::since_first_day(s, today).map(|first| (first, today)))
        .transpose()?;
    if let Some(source @ (SourceArg::Vpcflow | SourceArg::AccessLog)) = a.source {
        if a.paths
            .iter()
            .any(|p| p.to_string_lossy().starts_with("s3://"))
            || window.is_some()
        {
            bail!("s3:// paths and --since are for CloudTrail; subscription files are local");
        }
        let model = train_logs(&subscription_files(&a.paths)?, source, &params, &limits)?;
        let bytes = write_model(&model, &a.out)?;
        eprintln!(
            "trained {} on {} windows from {} files in {:.1}s -> {} ({} KB)",
            model.version(),
            model.training.rows,
            model.training.files,
            started.elapsed().as_secs_f64(),
            a.out.display(),
            bytes / 1024
        );
        return Ok(ExitCode::SUCCESS);
    }
    let spool = tempfile::Builder::new()
        .prefix("trailhound-train-")
        .tempdir()
        .context("cannot create a temporary folder for the downloaded logs")?;
    let inputs = cloudtrail_inputs(
        &a.paths,
        window,
        a.read.max_decompressed_bytes,
        spool.path(),
    )?;
    let (model, seen) = train_files_seen(&inputs.files, &params, &limits)?;
    drop(spool);
    let bytes = write_model(&model, &a.out)?;
    eprintln!(
        "trained {} on {} events from {} files in {:.1}s -> {} ({} KB)",
        model.version(),
        model.training.rows,
        model.training.files,
        started.elapsed().as_secs_f64(),
        a.out.display(),
        bytes / 1024
    );
    eprint!("{}", summary(&model, &seen, &inputs, &a.out));
    Ok(if inputs.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the model, returning its size in bytes.
fn write_model(model: &Model, out: &Path) -> Result<usize> {
    let bytes = model.to_bytes()?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(bytes.len())
}

/// What a CloudTrail model learned, in a few lines.
fn summary(model: &Model, seen: &Seen, inputs: &Inputs, out: &Path) -> String {
    let t = &model.training;
    let mut s = format!("  read: {}", inputs.from);
    if inputs.failed > 0 {
        s.push_str(&format!(
            "; {} objects could not be read (warnings above)",
            inputs.failed
        ));
    }
    s.push_str(&format!(
        "\n  learned: {} events ({} of JSON, {} malformed records skipped) on {} day{}, {} to {}\n",
        t.rows,
        human_bytes(seen.bytes),
        t.skipped,
        seen.days.len(),
        if seen.days.len() == 1 { "" } else { "s" },
        format_rfc3339(t.time_start),
        format_rfc3339(t.time_end),
    ));
    if let Encoder::CloudTrail(e) = &model.encoder {
        s.push_str(&format!(
            "  normal: {} principals, {} event names, {} event sources, {} regions\n",
            e.principals.len(),
            e.names.len(),
            e.sources.len(),
            e.regions.len()
        ));
    }
    // Binary columns (0 or 1) say little as a range; the others show the scale
    // scores are judged on.
    let (mut constant, mut binary, mut scaled) = (0, 0, Vec::new());
    for (name, &(lo, hi)) in model.schema.names.iter().zip(&model.feature_bounds) {
        if lo == hi {
            constant += 1;
        } else if (lo, hi) == (0.0, 1.0) {
            binary += 1;
        } else {
            scaled.push(format!("{name} {lo:.2}–{hi:.2}"));
        }
    }
    s.push_str(&format!(
        "  columns: {} vary 0–1, {} constant; the others (1st–99th percentile): {}\n",
        binary,
        constant,
        scaled.join(", ")
    ));
    s.push_str(&format!(
        "  next: trailhound model push {} --bucket BUCKET (the stack output ModelBucketName)\n",
        out.display()
    ));
    s
}

/// Bytes in B, KB, MB or GB (powers of 1000).
fn human_bytes(n: u64) -> String {
    let units = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")];
    match units.iter().find(|(u, _)| n >= *u) {
        Some((u, name)) => format!("{:.1} {name}", n as f64 / *u as f64),
        None => format!("{n} B"),
    }
}
