//! Isolation Forest speed: fit 100 trees × 256 samples on 100k rows of 24 features, then
//! score 1M rows. Prints rows per second of one core beside criterion's own report.
//!
//! Run with `cargo bench -p trailhound-core --bench iforest`.

#![allow(clippy::unwrap_used, reason = "a bench fails loudly")]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trailhound_core::models::iforest::{IsolationForest, IsolationForestParams};

const FEATURES: usize = 24;

/// Rows shaped like trailhound's features: a few small integers (hour, weekday), a 0/1
/// flag, skewed frequencies, and one-hot groups.
fn rows(n: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::<f32>::zeros((n, FEATURES));
    for mut row in x.rows_mut() {
        row[0] = rng.random_range(0..24) as f32;
        row[1] = rng.random_range(0..7) as f32;
        row[2] = f32::from(rng.random_bool(0.02));
        for f in 3..8 {
            row[f] = rng.random::<f32>().powi(4);
        }
        row[8 + rng.random_range(0..5)] = 1.0;
        row[13 + rng.random_range(0..9)] = 1.0;
        row[22] = rng.random::<f32>() * 100.0;
        row[23] = (rng.random::<f32>() * 8.0).floor();
    }
    x
}

/// CPU seconds of this thread (Linux; `None` elsewhere), in clock ticks of 10 ms.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

fn bench(c: &mut Criterion) {
    let params = IsolationForestParams::default();
    let train = rows(100_000, 1);
    let score = rows(1_000_000, 2);
    let forest = IsolationForest::fit(train.view(), &params).unwrap();

    // plain measurements first, so the numbers read the same without criterion's report;
    // CPU time too, as wall time on a shared 2-core box mostly measures the neighbours
    let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
    let mut scores = Vec::new();
    for _ in 0..3 {
        let (t, c) = (Instant::now(), thread_cpu_seconds());
        scores = forest.score(score.view());
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min(thread_cpu_seconds().zip(c).map_or(f64::NAN, |(b, a)| b - a));
    }
    let n = scores.len() as f64;
    println!(
        "score: {n} rows, best of 3: wall {wall:.3} s = {:.2} M rows/s; cpu {cpu:.2} s = {:.2} M rows/s (mean score {:.4})",
        n / wall / 1e6,
        n / cpu / 1e6,
        scores.iter().sum::<f64>() / n
    );
    let t = Instant::now();
    let bytes = postcard::to_allocvec(&forest).unwrap();
    let again: IsolationForest = postcard::from_bytes(&bytes).unwrap();
    println!(
        "postcard: {} bytes, round trip {:.2} ms",
        bytes.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    black_box(again);

    let mut g = c.benchmark_group("iforest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("fit_100k_x24", |b| {
        b.iter(|| IsolationForest::fit(black_box(train.view()), &params).unwrap())
    });
    g.throughput(Throughput::Elements(1_000_000));
    let mut out = vec![0.0; score.nrows()];
    g.bench_function("score_1m_x24", |b| {
        b.iter(|| forest.score_into(black_box(score.view()), &mut out))
    });
    g.throughput(Throughput::Elements(1));
    let row = score.row(0).to_vec();
    g.bench_function("score_row", |b| {
        b.iter(|| forest.score_row(black_box(&row)))
    });
    g.bench_function("deserialise", |b| {
        b.iter(|| postcard::from_bytes::<IsolationForest>(black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
