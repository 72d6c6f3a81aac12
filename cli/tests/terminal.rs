//! The binary on a pseudo-terminal: progress on standard error never mixes with
//! findings on standard output when both are the same terminal.
//!
//! `script` (util-linux) runs the command under a pty, so indicatif draws its bar;
//! the bytes it records are replayed on a tiny terminal model (carriage return,
//! line feed, erase-line, cursor-up) and the screen lines are checked.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn trailhound() -> &'static str {
    env!("CARGO_BIN_EXE_trailhound")
}

fn ok(args: &[&str]) {
    let out = Command::new(trailhound())
        .args(args)
        .output()
        .expect("run trailhound");
    assert!(
        out.status.success(),
        "trailhound {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs `trailhound ARGS` under a pseudo-terminal (standard output and error both
/// on it) and returns what the terminal received.
fn on_a_terminal(args: &[&str]) -> Vec<u8> {
    let mut cmd = String::from(trailhound());
    for a in args {
        assert!(!a.contains('\''), "quote-free arguments only: {a}");
        cmd.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("COLUMNS", "200")
        .output()
        .expect("`script` (util-linux) runs commands under a pseudo-terminal");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

/// The lines a terminal shows after receiving `bytes`: text overwrites from the
/// cursor, `\r` returns to the first column, `\n` moves down, `ESC[K`/`ESC[2K`
/// erase, `ESC[nA` moves up; other escape sequences are ignored.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut param = String::new();
                let mut fin = ' ';
                for d in chars.by_ref() {
                    if d.is_ascii_digit() || d == ';' || d == '?' {
                        param.push(d);
                    } else {
                        fin = d;
                        break;
                    }
                }
                let n: usize = param.parse().unwrap_or(1).max(1);
                match (fin, param.as_str()) {
                    ('K', "2") => lines[row].clear(),
                    ('K', "" | "0") => lines[row].truncate(col),
                    ('A', _) => row = row.saturating_sub(n),
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect()).collect()
}

fn is_progress(line: &str) -> bool {
    line.contains(" files ") && line.contains("left)")
}

fn is_output(line: &str) -> bool {
    line.contains("SEVERITY")
        || line.contains("ALERT [")
        || ["critical ", "high ", "medium ", "low "]
            .iter()
            .any(|s| line.trim_start().starts_with(s) || line.contains(&format!("] {s}")))
        || line.contains("cloudtrail:")
        || line.contains("iam:")
}

#[test]
fn the_model_terminal_erases_and_overwrites_like_a_terminal() {
    let s = screen(b"  scanning [=> ] 1/9 files 0s (1s left)\r\x1b[2KSEVERITY\nrow\r\x1b[2Kx\n");
    assert_eq!(s, ["SEVERITY", "x", ""]);
    let garbled = screen(b"  scanning [=> ] 1/9 files 0s (1s left)SEVERITY\n");
    assert!(is_progress(&garbled[0]) && is_output(&garbled[0]));
}

/// Regression: findings and the table header were printed onto the progress line
/// when standard output and standard error were the same terminal.
#[test]
fn findings_and_alerts_never_land_on_the_progress_bar() {
    let dir = tempfile::tempdir().unwrap();
    let (train, scan, model) = (
        dir.path().join("train"),
        dir.path().join("scan"),
        dir.path().join("model.bin"),
    );
    ok(&[
        "simulate",
        "--out",
        p(&train),
        "--days",
        "1",
        "--events-per-day",
        "2000",
        "--no-attacks",
    ]);
    ok(&[
        "simulate",
        "--out",
        p(&scan),
        "--days",
        "2",
        "--events-per-day",
        "2000",
        "--seed",
        "5",
    ]);
    ok(&["train", p(&train), "--out", p(&model)]);
    // Printed while scanning (time order, every finding, alerts on stderr), and
    // printed at the end (the default table, worst first).
    for args in [
        vec![
            "scan",
            p(&scan),
            "--model",
            p(&model),
            "--format",
            "table",
            "--sort",
            "time",
            "--min-severity",
            "low",
            "--alerts",
        ],
        vec!["scan", p(&scan), "--model", p(&model), "--format", "table"],
        vec!["scan", p(&scan), "--model", p(&model), "--alerts"],
    ] {
        let raw = on_a_terminal(&args);
        let lines = screen(&raw);
        let raw_text = String::from_utf8_lossy(&raw);
        assert!(
            raw_text.contains(" files ") && raw_text.contains("left)"),
            "{args:?}: the bar was drawn (or this test cannot fail)"
        );
        assert!(
            lines.iter().filter(|l| is_output(l)).count() > 10,
            "{args:?}: findings were printed:\n{}",
            lines.join("\n")
        );
        let mixed: Vec<&String> = lines
            .iter()
            .filter(|l| is_progress(l) && is_output(l))
            .collect();
        assert!(mixed.is_empty(), "{args:?}: output on the bar: {mixed:#?}");
        if !args.contains(&"--format") {
            // A person at a terminal gets the table, not JSON lines.
            assert!(
                lines.iter().any(|l| l.contains("SEVERITY"))
                    && !lines.iter().any(|l| l.starts_with("{\"")),
                "{args:?}: the default on a terminal is the table:\n{}",
                lines.join("\n")
            );
        }
    }
}
