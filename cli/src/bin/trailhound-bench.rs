//! `trailhound-bench`: speed and memory of the CloudTrail pipeline, measured the way
//! `scripts/bench.sh` compares it with the Python reference. Every figure is CPU
//! time (this thread's, or the process's), not wall time: on a shared 2-core box
//! wall time mostly measures the neighbours. Each subcommand prints one JSON object.
//!
//! - `train DIR... --out M`: `train_cloudtrail` over the files, as `trailhound train`.
//! - `e2e DIR... --model M`: list, read + gunzip + parse, features + score, as
//!   `trailhound scan` minus printing; then one extra pass that splits the stages
//!   finer (I/O, gunzip, parse, encode, forest, the rest of `score_batch`).
//! - `load --model M`: `Model::from_bytes` on the file's bytes.
//! - `iforest DIR... --model M`: the model's forest on real feature rows.
//! - `logs --source vpcflow|access-log FILE... [--model M]`: CloudWatch Logs
//!   subscription events (one Lambda event per line) through decode (base64,
//!   gunzip, JSON), parse, window aggregation and scoring, per payload (as the
//!   Lambda) and per file (as the CLI), in log lines per CPU-second.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ndarray::{Array2, Axis, concatenate};
use serde_json::{Value, json};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trailhound_core::decode::{self, Limits};
use trailhound_core::models::artifact::{Encoder, Model};
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::models::train::train_cloudtrail;
use trailhound_core::score::cloudtrail::score_batch;
use trailhound_core::sources::cloudtrail::split::RecordSplitter;
use trailhound_core::sources::cloudtrail::{CtBatch, KeyKind, key_kind, record};

#[derive(Debug, Parser)]
#[command(about = "Benchmarks of the trailhound pipeline (CPU seconds; one JSON object out)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Train a model with `train_cloudtrail` (100 trees x 256, seed 42) and time it.
    Train {
        /// CloudTrail files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
    },
    /// End to end: list, read + parse, features + score; medians of `--runs`.
    E2e {
        /// CloudTrail files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Timed runs (the median is reported); 0 for the breakdown alone.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Skip the extra pass that splits the stages finer.
        #[arg(long)]
        no_breakdown: bool,
    },
    /// Model load: `Model::from_bytes` on the file's bytes, `--reps` times.
    Load {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Repetitions.
        #[arg(long, default_value_t = 100)]
        reps: usize,
    },
    /// Subscription events: decode + parse, then aggregate + score, in lines per CPU-second.
    Logs {
        /// `vpcflow` or `access_log`.
        #[arg(long)]
        source: String,
        /// Files of Lambda events, one per line (`events.jsonl`).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Model of the source (without one, rules only).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Timed runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Isolation Forest scoring of `--rows` real feature rows on one thread.
    Iforest {
        /// CloudTrail files or directories the rows are encoded from (repeated if short).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Model file (its forest is scored).
        #[arg(long)]
        model: PathBuf,
        /// Rows to score.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Timed runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> Result<()> {
    let out = match Cli::parse().cmd {
        Cmd::Train { paths, out } => train(&paths, &out)?,
        Cmd::E2e {
            paths,
            model,
            runs,
            no_breakdown,
        } => e2e(&paths, &model, runs, !no_breakdown)?,
        Cmd::Load { model, reps } => load(&model, reps.max(1))?,
        Cmd::Iforest {
            paths,
            model,
            rows,
            runs,
        } => iforest(&paths, &model, rows.max(1), runs.max(1))?,
        Cmd::Logs {
            source,
            paths,
            model,
            runs,
        } => logs(&source, &paths, model.as_deref(), runs.max(1))?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// CPU seconds of this thread.
fn thread_cpu() -> f64 {
    cpu_clock(true)
}

/// CPU seconds of the whole process (all threads, user + system).
fn process_cpu() -> f64 {
    cpu_clock(false)
}

#[cfg(unix)]
fn cpu_clock(thread: bool) -> f64 {
    use rustix::time::{ClockId, clock_gettime};
    let t = clock_gettime(if thread {
        ClockId::ThreadCPUTime
    } else {
        ClockId::ProcessCPUTime
    });
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

// Without CPU clocks the numbers fall back to wall time, which the output says.
#[cfg(not(unix))]
fn cpu_clock(_thread: bool) -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

const CLOCK: &str = if cfg!(unix) {
    "cpu"
} else {
    "wall (no CPU clock on this OS)"
};

/// Peak resident set of this process in MB (Linux `VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        (n as f64 / secs).round()
    } else {
        f64::NAN
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// CloudTrail log files under `paths` with their sizes, sorted (as `trailhound scan`:
/// symbolic links followed, loops and unreadable entries reported and skipped).
fn list(paths: &[PathBuf]) -> Result<Vec<(PathBuf, u64)>> {
    let size = |p: &Path| -> Result<u64> {
        Ok(std::fs::metadata(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .len())
    };
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let w = trailhound_core::walk::walk(p, |path, entry| {
                entry == trailhound_core::walk::Entry::Dir
                    || key_kind(&path.to_string_lossy()) == KeyKind::LogFile
            });
            if let Some(s) = w.skipped_summary(10) {
                eprintln!("warning: under {}: {s}", p.display());
            }
            for f in w.files {
                let n = size(&f)?;
                out.push((f, n));
            }
        } else {
            out.push((p.clone(), size(p)?));
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        bail!("no CloudTrail log files under the given paths");
    }
    Ok(out)
}

/// Reads one file the way the CLI's local object source does.
fn read_batch(path: &Path, limits: &Limits) -> Result<CtBatch> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    CtBatch::read(BufReader::with_capacity(256 * 1024, f), limits)
        .with_context(|| format!("cannot read {}", path.display()))
}

fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Model::from_bytes(&bytes).with_context(|| format!("model {} refused", path.display()))
}

fn train(paths: &[PathBuf], out: &Path) -> Result<Value> {
    let limits = Limits::default();
    let (c0, w0) = (process_cpu(), Instant::now());
    let files = list(paths)?;
    let params = IsolationForestParams {
        seed: 42,
        ..IsolationForestParams::default()
    };
    let model = train_cloudtrail(
        || {
            files
                .iter()
                .filter_map(|(p, _)| read_batch(p, &limits).ok())
        },
        &params,
    )?;
    let bytes = model.to_bytes()?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(json!({
        "clock": CLOCK,
        "files": files.len(),
        "events": model.training.rows,
        "cpu_s": round(process_cpu() - c0, 3),
        "wall_s": round(w0.elapsed().as_secs_f64(), 3),
        "model_bytes": bytes.len(),
        "peak_rss_mb": peak_rss_mb(),
    }))
}

/// One timed end-to-end run.
#[derive(Debug, Default)]
struct Run {
    files: u64,
    events: u64,
    flagged: u64,
    gz_bytes: u64,
    raw_bytes: u64,
    list_s: f64,
    read_s: f64,
    score_s: f64,
    process_s: f64,
    wall_s: f64,
}

fn e2e_run(paths: &[PathBuf], model: &Model, limits: &Limits) -> Result<Run> {
    let mut r = Run::default();
    let (p0, w0, t0) = (process_cpu(), Instant::now(), thread_cpu());
    let files = list(paths)?;
    r.list_s = thread_cpu() - t0;
    for (path, size) in &files {
        let t0 = thread_cpu();
        let batch = read_batch(path, limits)?;
        let t1 = thread_cpu();
        let findings = score_batch(&batch, Some(model), false);
        r.flagged += findings.iter().filter(|f| f.severity.is_some()).count() as u64;
        r.events += batch.events.len() as u64;
        r.raw_bytes += batch.bytes;
        drop(findings);
        drop(batch);
        r.read_s += t1 - t0;
        r.score_s += thread_cpu() - t1;
        r.files += 1;
        r.gz_bytes += size;
    }
    r.process_s = process_cpu() - p0;
    r.wall_s = w0.elapsed().as_secs_f64();
    Ok(r)
}

/// CPU seconds per fine stage, in one extra pass: each stage runs on the previous
/// stage's output, and parsing is repeated three ways to split it (record splitting
/// alone; splitting + serde into borrowed structs; the whole `CtBatch::read`).
fn breakdown(paths: &[PathBuf], model: &Model, limits: &Limits) -> Result<Value> {
    let Encoder::CloudTrail(enc) = &model.encoder else {
        bail!("not a CloudTrail model");
    };
    let mut s = [0f64; 8];
    let mut events = 0u64;
    for (path, _) in list(paths)? {
        let t0 = thread_cpu();
        let gz = std::fs::read(&path)?;
        let t1 = thread_cpu();
        let raw = decode::read_all(&gz, limits.max_decompressed_bytes)?;
        let t2 = thread_cpu();
        let mut split = RecordSplitter::new(raw.as_slice(), limits.max_record_bytes);
        while let Some(rec) = split.next_record()? {
            std::hint::black_box(rec);
        }
        let t3 = thread_cpu();
        let mut split = RecordSplitter::new(raw.as_slice(), limits.max_record_bytes);
        while let Some(rec) = split.next_record()? {
            let _ = std::hint::black_box(record::parse(rec));
        }
        let t4 = thread_cpu();
        let batch = CtBatch::read(raw.as_slice(), limits)?;
        let t5 = thread_cpu();
        let x = enc.encode(&batch);
        let t6 = thread_cpu();
        std::hint::black_box(model.forest.score(x.view()));
        let t7 = thread_cpu();
        drop(score_batch(&batch, Some(model), false));
        let t8 = thread_cpu();
        events += batch.events.len() as u64;
        let d = [
            t1 - t0,
            t2 - t1,
            t3 - t2,
            t4 - t3,
            t5 - t4,
            t6 - t5,
            t7 - t6,
            t8 - t7,
        ];
        for (acc, d) in s.iter_mut().zip(d) {
            *acc += d;
        }
    }
    let [io, gunzip, split, split_serde, read, encode, forest, scored] = s;
    let stage =
        |secs: f64| json!({"cpu_s": round(secs, 3), "events_per_cpu_s": rate(events, secs)});
    Ok(json!({
        "events": events,
        "io": stage(io),
        "gunzip": stage(gunzip),
        "parse": stage(read),
        "parse.split": stage(split),
        "parse.serde": stage(split_serde - split),
        "parse.normalise": stage(read - split_serde),
        "encode": stage(encode),
        "forest": stage(forest),
        "score_batch": stage(scored),
        "score_batch.rest": stage(scored - encode - forest),
    }))
}

fn e2e(paths: &[PathBuf], model_path: &Path, runs: usize, split: bool) -> Result<Value> {
    let model = load_model(model_path)?;
    let limits = Limits::default();
    let mut all = Vec::new();
    for i in 0..runs {
        let r = e2e_run(paths, &model, &limits)?;
        eprintln!(
            "run {}/{runs}: {} events, {:.2} CPU s ({:.0} events/CPU-s), read {:.2} s, score {:.2} s",
            i + 1,
            r.events,
            r.process_s,
            r.events as f64 / r.process_s,
            r.read_s,
            r.score_s
        );
        all.push(r);
    }
    let mut out = json!({"clock": CLOCK, "runs": runs});
    if let Some(first) = all.first() {
        let med = |f: fn(&Run) -> f64| median(&all.iter().map(f).collect::<Vec<_>>());
        let (total, read, score) = (med(|r| r.process_s), med(|r| r.read_s), med(|r| r.score_s));
        let n = first.events;
        out = json!({
            "clock": CLOCK,
            "runs": runs,
            "files": first.files,
            "events": n,
            "gz_bytes": first.gz_bytes,
            "raw_bytes": first.raw_bytes,
            "flagged": first.flagged,
            "e2e_cpu_s": round(total, 3),
            "e2e_wall_s": round(med(|r| r.wall_s), 3),
            "events_per_cpu_s": rate(n, total),
            "list_cpu_s": round(med(|r| r.list_s), 3),
            "read_parse_cpu_s": round(read, 3),
            "read_parse_events_per_cpu_s": rate(n, read),
            "score_cpu_s": round(score, 3),
            "score_events_per_cpu_s": rate(n, score),
            "raw_MB_per_cpu_s": round(first.raw_bytes as f64 / 1e6 / total, 1),
            "all_e2e_cpu_s": all.iter().map(|r| round(r.process_s, 3)).collect::<Vec<_>>(),
            // before the breakdown pass, which holds a whole decompressed file
            "peak_rss_mb": peak_rss_mb(),
        });
    }
    if split {
        out["breakdown"] = breakdown(paths, &model, &limits)?;
    }
    Ok(out)
}

fn load(path: &Path, reps: usize) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (mut wall, mut cpu) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        let (w0, c0) = (Instant::now(), thread_cpu());
        let model = Model::from_bytes(&bytes)?;
        cpu.push(thread_cpu() - c0);
        wall.push(w0.elapsed().as_secs_f64());
        std::hint::black_box(model);
    }
    let ms = |v: &[f64]| round(median(v) * 1e3, 3);
    Ok(json!({
        "clock": CLOCK,
        "model_bytes": bytes.len(),
        "reps": reps,
        "from_bytes_ms_median": ms(&wall),
        "from_bytes_cpu_ms_median": ms(&cpu),
    }))
}

fn iforest(paths: &[PathBuf], model_path: &Path, rows: usize, runs: usize) -> Result<Value> {
    let model = load_model(model_path)?;
    let Encoder::CloudTrail(enc) = &model.encoder else {
        bail!("not a CloudTrail model");
    };
    let limits = Limits::default();
    let mut parts: Vec<Array2<f32>> = Vec::new();
    let mut have = 0;
    for (path, _) in list(paths)? {
        let x = enc.encode(&read_batch(&path, &limits)?);
        have += x.nrows();
        parts.push(x);
        if have >= rows {
            break;
        }
    }
    if have == 0 {
        bail!("no events to encode");
    }
    let mut views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    // a short set is repeated: rows, not distinct events, are what is timed
    while views.iter().map(|v| v.nrows()).sum::<usize>() < rows {
        let again: Vec<_> = parts.iter().map(|p| p.view()).collect();
        views.extend(again);
    }
    let x = concatenate(Axis(0), &views)?;
    let x = x
        .slice_axis(Axis(0), ndarray::Slice::from(0..rows))
        .to_owned();
    drop(parts);
    let mut out = vec![0.0; rows];
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (w0, c0) = (Instant::now(), thread_cpu());
        model.forest.score_into(x.view(), &mut out);
        cpu.push(thread_cpu() - c0);
        wall.push(w0.elapsed().as_secs_f64());
    }
    let (c, w) = (median(&cpu), median(&wall));
    Ok(json!({
        "clock": CLOCK,
        "rows": rows,
        "features": x.ncols(),
        "trees": model.forest.n_trees(),
        "max_samples": model.forest.max_samples(),
        "runs": runs,
        "cpu_s": round(c, 4),
        "rows_per_cpu_s": rate(rows as u64, c),
        "wall_s": round(w, 4),
        "rows_per_wall_s": rate(rows as u64, w),
        "mean_score": round(out.iter().sum::<f64>() / rows as f64, 6),
    }))
}

/// Subscription events through the logs pipeline's stages (no store, no alerts).
fn logs(source: &str, paths: &[PathBuf], model: Option<&Path>, runs: usize) -> Result<Value> {
    use trailhound_core::logs::LogsBatch;
    use trailhound_core::sources::cwl::SourceMap;
    let source = source.replace('-', "_");
    let sources =
        SourceMap::parse(&format!("*={source}")).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let model = model.map(load_model).transpose()?;
    let limits = Limits::default();
    let mut events: Vec<Vec<u8>> = Vec::new();
    for p in paths {
        let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        events.extend(
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    let score = |b: &LogsBatch| -> usize {
        match source.as_str() {
            "vpcflow" => {
                trailhound_core::score::vpcflow::score_with(&b.vpcflow, model.as_ref(), false)
                    .flagged()
                    .count()
            }
            _ => {
                trailhound_core::score::access_log::score_with(&b.access_log, model.as_ref(), false)
                    .flagged()
                    .count()
            }
        }
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut per_payload, mut decode_parse, mut per_file, mut file_score) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut lines, mut findings_payload, mut findings_file) = (0u64, 0usize, 0usize);
    for _ in 0..runs {
        // As the Lambda: one batch per payload; decode and parse timed apart.
        let (mut t_parse, mut t_all) = (0.0, 0.0);
        lines = 0;
        findings_payload = 0;
        for e in &events {
            let t0 = thread_cpu();
            let mut b = LogsBatch::default();
            if b.add_event(e, &limits, &sources).is_err() {
                continue;
            }
            let t1 = thread_cpu();
            findings_payload += score(&b);
            let t2 = thread_cpu();
            t_parse += t1 - t0;
            t_all += t2 - t0;
            lines += b.counts.events;
        }
        decode_parse.push(t_parse);
        per_payload.push(t_all);
        // As the CLI: every payload in one batch, windows across the whole file.
        let t0 = thread_cpu();
        let mut b = LogsBatch::default();
        for e in &events {
            let _ = b.add_event(e, &limits, &sources);
        }
        let t1 = thread_cpu();
        findings_file = score(&b);
        let t2 = thread_cpu();
        per_file.push(t2 - t0);
        file_score.push(t2 - t1);
    }
    let rate = |secs: f64| (lines as f64 / secs.max(1e-9)).round();
    let (pp, dp, pf, fs) = (
        median(per_payload),
        median(decode_parse),
        median(per_file),
        median(file_score),
    );
    Ok(json!({
        "source": source,
        "payloads": events.len(),
        "log_lines": lines,
        "model": model.as_ref().map(|m| m.version().to_owned()),
        "per_payload": {
            "cpu_s": pp,
            "lines_per_cpu_s": rate(pp),
            "decode_parse_lines_per_cpu_s": rate(dp),
            "aggregate_score_lines_per_cpu_s": rate(pp - dp),
            "findings": findings_payload,
        },
        "per_file": {
            "cpu_s": pf,
            "lines_per_cpu_s": rate(pf),
            "aggregate_score_lines_per_cpu_s": rate(fs),
            "findings": findings_file,
        },
    }))
}
