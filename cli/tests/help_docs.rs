//! `--help` and docs/cli.md agree: every long flag a command's help shows is
//! documented in that command's section of docs/cli.md (its synopsis or its flag
//! table), and every flag documented there exists in the help.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

/// (command words, heading of its docs/cli.md section, whether the section's
/// flag tables are about this command alone).
const COMMANDS: &[(&[&str], &str, bool)] = &[
    (&["simulate"], "## `trailhound simulate`", true),
    (&["train"], "## `trailhound train`", true),
    (&["scan"], "## `trailhound scan`", true),
    (&["eval"], "## `trailhound eval`", true),
    (&["demo"], "## `trailhound demo`", true),
    (
        &["rules", "list"],
        "## `trailhound rules list` and `trailhound rules test`",
        false,
    ),
    (
        &["rules", "test"],
        "## `trailhound rules list` and `trailhound rules test`",
        false,
    ),
    (
        &["model", "info"],
        "## `trailhound model info` and `trailhound model push`",
        false,
    ),
    (
        &["model", "push"],
        "## `trailhound model info` and `trailhound model push`",
        true,
    ),
];

/// Long flags (`--name`) in a text.
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let mut end = start + 2;
        while end < b.len()
            && (b[end].is_ascii_lowercase() || b[end].is_ascii_digit() || b[end] == b'-')
        {
            end += 1;
        }
        let before_ok =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'-');
        if before_ok && end > start + 2 && b[start + 2].is_ascii_lowercase() {
            out.insert(text[start..end].trim_end_matches('-').to_owned());
        }
        i = end.max(start + 2);
    }
    out
}

fn help(words: &[&str]) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(words)
        .arg("--help")
        .output()
        .expect("run trailhound");
    assert!(out.status.success(), "{words:?} --help");
    let text = String::from_utf8_lossy(&out.stdout);
    // Flags of this command: the option lines (an argument's text may name another
    // flag, e.g. "at or above --alert-severity"; those are checked where defined).
    let mut own = BTreeSet::new();
    for line in text.lines() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("-h, ")
            .or_else(|| t.strip_prefix("-V, "))
            .unwrap_or(t);
        if t.starts_with("--") {
            own.extend(flags(t.split_whitespace().next().unwrap_or("")));
        }
    }
    own.remove("--help");
    own.remove("--version");
    own
}

fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("{heading}\n"))
        .unwrap_or_else(|| panic!("docs/cli.md has no section {heading}"));
    let rest = &doc[start + heading.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// Flags documented for a command: in its synopsis lines (`trailhound <words> …`
/// inside the section's code block) and, when the section is about it alone, in
/// the first column of its flag tables.
fn documented(section: &str, words: &[&str], tables: bool) -> BTreeSet<String> {
    let prefix = format!("trailhound {}", words.join(" "));
    let mut out = BTreeSet::new();
    let mut in_code = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code && (line == prefix || line.starts_with(&format!("{prefix} "))) {
            out.extend(flags(line));
        }
        if tables && !in_code && line.starts_with("| `--") {
            let first = line
                .trim_start_matches('|')
                .split(" | ")
                .next()
                .unwrap_or("");
            out.extend(flags(first));
        }
    }
    out
}

#[test]
fn every_flag_in_help_is_documented_and_every_documented_flag_exists() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md"))
        .expect("docs/cli.md");
    let mut problems = Vec::new();
    for (words, heading, tables) in COMMANDS {
        let in_help = help(words);
        let in_docs = documented(section(&doc, heading), words, *tables);
        for f in in_help.difference(&in_docs) {
            problems.push(format!(
                "trailhound {}: {f} is in --help but not in docs/cli.md ({heading})",
                words.join(" ")
            ));
        }
        for f in in_docs.difference(&in_help) {
            problems.push(format!(
                "trailhound {}: {f} is documented in docs/cli.md ({heading}) but not in --help",
                words.join(" ")
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_subcommand_is_checked() {
    let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .arg("--help")
        .output()
        .expect("run trailhound");
    let text = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 7, "{text}");
    for c in commands {
        assert!(
            COMMANDS.iter().any(|(words, _, _)| words[0] == c),
            "`trailhound {c}` is not in this test's list"
        );
    }
}

#[test]
fn help_points_to_the_docs_not_the_readme_for_reference() {
    for (words, _, _) in COMMANDS {
        let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
            .args(*words)
            .arg("--help")
            .output()
            .expect("run trailhound");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("see README"),
            "trailhound {}: the README is a front door now: {text}",
            words.join(" ")
        );
        assert!(
            !text.contains("LOG_SOURCES`") || text.contains("LOG_GROUP_SOURCES"),
            "logs-ingest reads LOG_GROUP_SOURCES: {text}"
        );
    }
}

#[test]
fn flags_are_found_in_text() {
    let f = flags("x [--min-severity medium] [--rules DIR]... --a1 -- --X `--sort`");
    let want: BTreeSet<String> = ["--min-severity", "--rules", "--a1", "--sort"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(f, want);
}
