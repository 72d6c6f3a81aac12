//! Replays the committed fuzz corpora (`tests/fuzz/<target>/`, minimized by
//! `cargo fuzz cmin`, crashes and hangs included) through the fuzz targets' own
//! bodies (`fuzz/src/lib.rs`, included below), on stable Rust without cargo-fuzz.
//! Every input must return without a panic within [`TIME_LIMIT`].
//!
//! Inputs under `tests/fuzz/<target>/pending/` reproduce known, still open bugs in
//! code owned elsewhere (docs/fuzzing.md lists them); they are skipped here so the
//! suite stays green, and `pending_inputs` (ignored) replays them:
//! `cargo test -p trailhound-core --test fuzz_regressions -- --ignored`. When a fix
//! lands, move its input up out of `pending/` so it guards the fix.

#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest one input may take in a debug build on a busy machine. Inputs take
/// milliseconds; a hang (the fuzzer's `-timeout=10` in a release build) does not
/// finish at all.
const TIME_LIMIT: Duration = Duration::from_secs(20);

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// Files directly in `dir` (not in `pending/`), sorted.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs one input on its own thread (with a large stack, as the Lambda runtime's
/// worker threads have 2 MiB and the fuzzer's main thread 8 MiB) and reports a panic
/// or a timeout. A timed-out thread is left behind: the test fails anyway.
fn run_one(run: fn(&[u8]), file: &Path) -> Result<Duration, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let outcome = std::panic::catch_unwind(|| run(&data));
            let _ = tx.send(outcome.is_ok());
        })
        .map_err(|e| format!("cannot spawn: {e}"))?;
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(true) => Ok(start.elapsed()),
        Ok(false) => Err("panicked".into()),
        Err(_) => Err(format!("did not finish within {TIME_LIMIT:?}")),
    }
}

fn replay(target: &str, pending: bool) -> (usize, Vec<String>) {
    let Some(&(_, run)) = harness::TARGETS.iter().find(|(name, _)| *name == target) else {
        return (0, vec![format!("no fuzz target named {target}")]);
    };
    let mut dir = corpus_root().join(target);
    if pending {
        dir = dir.join("pending");
    }
    let files = inputs(&dir);
    let mut failures = Vec::new();
    for file in &files {
        if let Err(why) = run_one(run, file) {
            failures.push(format!("{target}: {}: {why}", file.display()));
        }
    }
    (files.len(), failures)
}

macro_rules! corpus_tests {
    ($($target:ident),* $(,)?) => {$(
        #[test]
        fn $target() {
            let (n, failures) = replay(stringify!($target), false);
            assert!(n > 0, "{}: the corpus is empty", stringify!($target));
            assert!(failures.is_empty(), "{} of {n} inputs failed:\n{}", failures.len(), failures.join("\n"));
        }
    )*};
}

corpus_tests!(
    cloudtrail_split,
    cloudtrail_object_gz,
    cwl_payload,
    vpcflow_line,
    access_log_line,
    web_payload,
    sigma_rule,
    suppressions_yaml,
    profiles_json,
    model_artifact,
    labels_csv,
);

#[test]
fn every_target_has_a_corpus_test() {
    let dirs: Vec<String> = std::fs::read_dir(corpus_root())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for (name, _) in harness::TARGETS {
        assert!(dirs.iter().any(|d| d == name), "no corpus for {name}");
    }
    for d in &dirs {
        assert!(
            harness::TARGETS.iter().any(|(name, _)| name == d),
            "corpus {d} has no target"
        );
    }
}

/// Known open bugs (docs/fuzzing.md): every pending input should fail until its fix
/// lands; run with `--ignored` to see which still do.
#[test]
#[ignore = "replays inputs of known open bugs (hangs, stack overflows) owned elsewhere"]
fn pending_inputs() {
    let mut all = Vec::new();
    for (name, _) in harness::TARGETS {
        let (_, failures) = replay(name, true);
        all.extend(failures);
    }
    assert!(all.is_empty(), "still failing:\n{}", all.join("\n"));
}

#[test]
fn the_harness_reaches_the_parsers() {
    // A target that returned early on every input would pass every corpus; these
    // seeds must get through parsing (the cases below fail if they do not).
    let ct = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cwl/cloudtrail.payload.json"),
    )
    .unwrap();
    let mut with_mode = vec![1u8];
    with_mode.extend_from_slice(&ct);
    harness::cwl_payload(&with_mode);
    let plain = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/cloudtrail/identities.json"),
    )
    .unwrap();
    let gz = harness::gzip(&plain);
    let batch =
        trailhound_core::sources::cloudtrail::CtBatch::read(&gz[..], &harness::LIMITS).unwrap();
    assert!(!batch.events.is_empty(), "gzip seed did not parse");
    let rule = harness::sigma_condition_rule("(sel or sel2) and not filter");
    let (rules, errors) =
        trailhound_core::rules::sigma::RuleSet::from_yaml_strs(&[("cond.yml", &rule)]);
    assert!(
        errors.is_empty() && rules.len() == 1,
        "the condition template does not compile: {errors:?}"
    );
    let framed = harness::with_header(b"not postcard");
    assert!(matches!(
        trailhound_core::models::artifact::Model::from_bytes(&framed),
        Err(trailhound_core::models::artifact::ModelError::Corrupt(m)) if !m.contains("checksum")
    ));
}

#[test]
fn trained_models_load_and_score_through_the_harness() {
    let models = harness::trained_models();
    let names: Vec<&str> = models.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["cloudtrail", "vpcflow", "access_log"],
        "a fixture model failed to train"
    );
    for (name, bytes) in &models {
        trailhound_core::models::artifact::Model::from_bytes(bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut input = vec![0u8];
        input.extend_from_slice(bytes);
        harness::model_artifact(&input);
    }
}

/// Writes the trained models into the fuzzer's working corpus (seeding, not a test):
/// `cargo test -p trailhound-core --test fuzz_regressions write_model_seeds -- --ignored`.
#[test]
#[ignore = "writes seed files for cargo fuzz"]
fn write_model_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/model_artifact");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in harness::trained_models() {
        let mut whole = vec![0u8];
        whole.extend_from_slice(&bytes);
        std::fs::write(dir.join(format!("{name}.model")), whole).unwrap();
        // mode 1: the payload alone, the harness frames it
        let mut payload = vec![1u8];
        payload.extend_from_slice(&bytes[24..]);
        std::fs::write(dir.join(format!("{name}.payload")), payload).unwrap();
    }
}
