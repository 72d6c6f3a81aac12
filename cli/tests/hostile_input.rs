//! Hostile input as a user can hand it to the `trailhound` binary: corrupt
//! CloudTrail files, oversized records, symbolic link loops, FIFOs, unreadable
//! files, wrong file names and models of another source. Nothing may hang, and
//! every skip must be said.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary, killing it (and failing the test) if it runs longer than
/// `limit`: a hang is the bug these tests guard against.
fn run_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run trailhound");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("trailhound {args:?} still running after {limit:?} (hang); stderr: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(args: &[&str]) -> Output {
    run_within(args, Duration::from_secs(120))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn record(id: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012"}},"eventTime":"2024-03-04T10:15:30Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.15.30","eventID":"{id}","recipientAccountId":"123456789012"}}"#
    )
}

fn log_file(records: &[String]) -> String {
    format!("{{\"Records\":[{}]}}", records.join(","))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Regression: `{"Records":[:]}` (and other stray tokens) made `scan` spin forever.
#[test]
fn scan_of_a_file_with_a_stray_token_ends_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (i, doc) in [
        r#"{"Records":[:]}"#,
        r#"{"Records":[}]}"#,
        r#"{"Records":[{"a":1},:"#,
    ]
    .into_iter()
    .enumerate()
    {
        let f = write(dir.path(), &format!("bad{i}.json"), doc);
        let out = run_within(&["scan", p(&f)], Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(1), "case {doc}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("malformed JSON at byte"),
            "case {doc}: {}",
            stderr(&out)
        );
    }
}

/// Regression: one record over the 8 MB maximum failed its whole file.
#[test]
fn an_oversized_record_is_skipped_and_the_rest_of_the_file_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        r#"{{"eventID":"big","eventTime":"2024-03-04T10:15:30Z","x":"{}"}}"#,
        "a".repeat(9 << 20)
    );
    let f = write(
        dir.path(),
        "big.json",
        &log_file(&[
            record("e1", "ListUsers"),
            big,
            record("e2", "CreateAccessKey"),
        ]),
    );
    let out = run(&["scan", "--all", p(&f)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"e1\"") && stdout.contains("\"e2\""),
        "{stdout}"
    );
    assert!(
        stderr(&out).contains("2 events (1 malformed records skipped)"),
        "{}",
        stderr(&out)
    );
}

/// Regression: impossible dates were read as the next month's days.
#[test]
fn a_record_on_an_impossible_date_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let bad = record("feb31", "ListUsers").replace("2024-03-04", "2024-02-31");
    let f = write(
        dir.path(),
        "dates.json",
        &log_file(&[bad, record("ok", "ListUsers")]),
    );
    let out = run(&["scan", "--all", p(&f)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("feb31") && stdout.contains("\"ok\""),
        "{stdout}"
    );
    assert!(stderr(&out).contains("1 events (1 malformed records skipped)"));
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Regression: symbolic link loops hung `scan` (CloudTrail and subscription
    /// files) and the Sigma rule folder walk; symlinked log files were ignored.
    #[test]
    fn symlink_loops_end_and_symlinked_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("a")).unwrap();
        write(
            &logs.join("a"),
            "one.json",
            &log_file(&[record("e1", "ListUsers")]),
        );
        let outside = write(
            dir.path(),
            "two.json",
            &log_file(&[record("e2", "ListUsers")]),
        );
        symlink(&outside, logs.join("two-link.json")).unwrap();
        symlink(&logs, logs.join("a/loop")).unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        symlink(&rules, rules.join("self")).unwrap();

        let out = run_within(
            &["scan", "--all", "--rules", p(&rules), p(&logs)],
            Duration::from_secs(60),
        );
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("\"e1\"") && stdout.contains("\"e2\""),
            "{stdout}"
        );
        assert!(err.contains("skipped 1 entry"), "{err}");
        assert!(err.contains("symbolic link loop"), "{err}");

        // Subscription files: the same walker.
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        symlink(&flows, flows.join("loop")).unwrap();
        let out = run_within(
            &["scan", "--source", "vpcflow", p(&flows)],
            Duration::from_secs(60),
        );
        let err = stderr(&out);
        assert!(err.contains("symbolic link loop"), "{err}");
    }

    /// An entry that cannot be read (a dangling link, a FIFO that would block a
    /// reader) is skipped and reported with its reason; the scan goes on.
    #[test]
    fn unreadable_entries_are_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("sub")).unwrap();
        write(
            &logs.join("sub"),
            "one.json",
            &log_file(&[record("e1", "ListUsers")]),
        );
        symlink(dir.path().join("gone"), logs.join("dangling.json")).unwrap();
        let fifo = logs.join("pipe.json");
        let fifo_made = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        let out = run_within(&["scan", p(&logs)], Duration::from_secs(60));
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("scanned 1 files, 1 events"), "{err}");
        assert!(
            err.contains("dangling.json: cannot read: No such file"),
            "{err}"
        );
        if fifo_made {
            assert!(err.contains("skipped 2 entries"), "{err}");
            assert!(err.contains("pipe.json: not a regular file"), "{err}");
        }
    }
}

/// A file that cannot be read says why (the OS reason), not only that it failed.
#[test]
fn an_unreadable_file_keeps_the_os_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.json",
        &log_file(&[record("e1", "ListUsers")]),
    );
    let gone = dir.path().join("gone.json");
    let out = run(&["scan", p(&good), p(&gone)]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("gone.json") && err.contains("No such file or directory"),
        "{err}"
    );
}

/// An explicit file without a CloudTrail name gave 0 events and no message.
#[test]
fn an_explicit_file_without_a_log_file_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "trail.log",
        &log_file(&[record("e1", "ListUsers")]),
    );
    let out = run(&["scan", p(&f)]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("trail.log is not a CloudTrail log file name (expected .json.gz or .json)"),
        "{err}"
    );
}

/// A model of another source was silently ignored by `scan`.
#[test]
fn a_model_of_another_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    let out = run(&[
        "simulate",
        "--source",
        "vpcflow",
        "--out",
        p(&flows),
        "--days",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model = dir.path().join("model.bin");
    let out = run(&[
        "train",
        "--source",
        "vpcflow",
        "--out",
        p(&model),
        p(&flows),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let f = write(
        dir.path(),
        "one.json",
        &log_file(&[record("e1", "ListUsers")]),
    );
    let out = run(&["scan", "--model", p(&model), p(&f)]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("model.bin is a vpcflow model; this scan reads cloudtrail"),
        "{err}"
    );
    // Subscription scans check it against the --source they read.
    let out = run(&[
        "scan",
        "--source",
        "access-log",
        "--model",
        p(&model),
        p(&flows),
    ]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("model.bin is a vpcflow model; this scan reads access_log"),
        "{err}"
    );
}
