//! `trailhound rules`: list the loaded detection rules and run their test events;
//! and the `--rules DIR` option of `scan`, `eval` and `demo`.

use anyhow::Result;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trailhound_core::rules::builtin;
use trailhound_core::rules::check::{self, TestOutcome};
use trailhound_core::rules::sigma::{LoadError, Origin, RuleKind, RuleSet, SigmaRule};
use trailhound_core::text::terminal_safe as safe;

/// `--rules DIR` (repeatable): Sigma rule directories on top of the built-in pack.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RulesOpts {
    /// Load the Sigma rules (`*.yml`, `*.yaml`, recursively) in this directory too;
    /// repeatable. A file that does not load is reported and skipped.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Run without Sigma rules, the built-in threshold rules included (the built-in
    /// pack still runs): for comparisons.
    #[arg(long, conflicts_with = "rules")]
    pub no_sigma: bool,
}

impl RulesOpts {
    /// The built-in threshold rules plus the directories' rules (an empty set
    /// with `--no-sigma`); load errors are printed to standard error.
    pub fn load(&self) -> Arc<RuleSet> {
        if self.no_sigma {
            return Arc::new(RuleSet::default());
        }
        let (set, errors) = build(&self.rules);
        for e in &errors {
            eprintln!("warning: rule not loaded: {}", safe(&e.to_string()));
        }
        Arc::new(set)
    }
}

fn build(dirs: &[PathBuf]) -> (RuleSet, Vec<LoadError>) {
    dirs.iter()
        .fold(RuleSet::builder().builtin(), |b, d| b.dir(d))
        .build()
}

/// Arguments of `rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// Rules subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// List every rule: the built-in pack and the Sigma rules of `--rules DIR`
    /// (exit 1 when a rule file does not load).
    List {
        #[command(flatten)]
        rules: RulesOpts,
        /// One JSON object per rule instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run every rule's test events: the built-in rules always, and the Sigma
    /// rules of each DIR with `DIR/tests/<rule file stem>/{match,nomatch}/*.json`
    /// (exit 1 when a test fails or a rule file does not load).
    Test {
        /// Sigma rule directories.
        dirs: Vec<PathBuf>,
    },
}

/// Runs `rules`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        RulesCommand::List { rules, json } => list(&rules.rules, json),
        RulesCommand::Test { dirs } => test(&dirs),
    }
}

/// One row of `rules list`.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    title: String,
    kind: &'static str,
    severity: f64,
    level: String,
    technique: String,
    attack_version: String,
    origin: String,
}

fn sigma_row(r: &SigmaRule) -> Row {
    Row {
        id: r.id.clone(),
        title: r.title.clone(),
        kind: match (r.kind, r.silent) {
            (RuleKind::Correlation, _) => "threshold",
            (RuleKind::Detection, true) => "base",
            (RuleKind::Detection, false) => "sigma",
        },
        severity: r.severity,
        level: r.level.as_str().to_owned(),
        technique: r.techniques.join(","),
        attack_version: r.attack_version.clone().unwrap_or_default(),
        origin: match &r.origin {
            Origin::BuiltIn => "built-in".to_owned(),
            Origin::File(p) => p.display().to_string(),
        },
    }
}

fn rows(set: &RuleSet) -> Vec<Row> {
    let mut rows: Vec<Row> = builtin::rules()
        .iter()
        .map(|r| Row {
            id: r.id.to_owned(),
            title: r.title.to_owned(),
            kind: "rule",
            severity: r.severity,
            level: trailhound_core::Severity::from_score(r.severity)
                .map_or_else(String::new, |s| s.to_string()),
            technique: r.technique.to_owned(),
            attack_version: r.attack_version.to_owned(),
            origin: "built-in".to_owned(),
        })
        .collect();
    rows.extend(set.rules().iter().map(|r| sigma_row(r)));
    rows
}

fn list(dirs: &[PathBuf], json: bool) -> Result<ExitCode> {
    let (set, errors) = build(dirs);
    let rows = rows(&set);
    let mut out = std::io::stdout().lock();
    if json {
        for r in &rows {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
    } else {
        let id_w = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
        writeln!(
            out,
            "{:<id_w$}  {:<9}  {:>5}  {:<13}  {:<6}  {:<10}  TITLE",
            "ID", "KIND", "SEV", "TECHNIQUE", "ATT&CK", "ORIGIN"
        )?;
        // Ids, titles and file names come from user files: shown terminal-safe.
        for r in &rows {
            writeln!(
                out,
                "{:<id_w$}  {:<9}  {:>5.1}  {:<13}  {:<6}  {:<10}  {}",
                safe(&r.id),
                r.kind,
                r.severity,
                if r.technique.is_empty() {
                    "-".into()
                } else {
                    safe(&r.technique)
                },
                if r.attack_version.is_empty() {
                    "-".into()
                } else {
                    safe(&r.attack_version)
                },
                safe(&r.origin),
                safe(&r.title)
            )?;
        }
        writeln!(
            out,
            "{} rules ({} built-in, {} from files)",
            rows.len(),
            rows.iter().filter(|r| r.origin == "built-in").count(),
            rows.iter().filter(|r| r.origin != "built-in").count()
        )?;
        let unindexed = set.unindexed();
        if !unindexed.is_empty() {
            writeln!(
                out,
                "note: {} rule(s) have no eventName/eventSource constraint and run on every event: {}",
                unindexed.len(),
                safe(&unindexed.join(", "))
            )?;
        }
    }
    for e in &errors {
        writeln!(
            out,
            "not loaded: {}",
            safe(&format!("{}: {}", e.file, e.reason))
        )?;
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn test(dirs: &[PathBuf]) -> Result<ExitCode> {
    let mut outcomes: Vec<TestOutcome> = check::builtin_outcomes();
    // A test group is named by a built-in rule's id, or by the stem of the Sigma
    // file it tests: show the ids of that file's rules, as `rules list` does.
    let (builtin_sigma, _) = RuleSet::builtin();
    let mut ids_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut file_ids = |set: &RuleSet, built_in: bool| {
        for r in set.rules() {
            if matches!(r.origin, Origin::BuiltIn) == built_in {
                let ids = ids_of.entry(r.file_stem().to_owned()).or_default();
                if !ids.contains(&r.id) {
                    ids.push(r.id.clone());
                }
            }
        }
    };
    file_ids(&builtin_sigma, true);
    let mut load_errors = Vec::new();
    let mut untested = Vec::new();
    for dir in dirs {
        let (set, errors) = RuleSet::load_dir(dir);
        load_errors.extend(errors);
        file_ids(&set, false);
        let found = check::dir_outcomes(&set, dir);
        for r in set.rules() {
            let stem = r.file_stem();
            if !found.iter().any(|o| o.rule == stem) && !untested.contains(&stem.to_owned()) {
                untested.push(stem.to_owned());
            }
        }
        outcomes.extend(found);
    }
    let mut by_rule: BTreeMap<&str, (usize, Vec<&TestOutcome>)> = BTreeMap::new();
    for o in &outcomes {
        let e = by_rule.entry(o.rule.as_str()).or_default();
        e.0 += 1;
        if !o.passed {
            e.1.push(o);
        }
    }
    let mut rules_tested: Vec<&str> = Vec::new();
    let mut out = std::io::stdout().lock();
    for (group, (n, failed)) in &by_rule {
        let ids: Vec<&str> = match ids_of.get(*group) {
            Some(ids) => ids.iter().map(String::as_str).collect(),
            None => vec![*group],
        };
        for id in &ids {
            if !rules_tested.contains(id) {
                rules_tested.push(id);
            }
        }
        let name = match ids_of.get(*group) {
            Some(_) if ids.len() > 1 || ids.first() != Some(group) => {
                format!("{} (rule file {group})", ids.join(", "))
            }
            _ => (*group).to_owned(),
        };
        let name = safe(&name);
        let fixtures = plural(*n, "fixture");
        if failed.is_empty() {
            writeln!(out, "ok    {name}: {fixtures}")?;
        } else {
            writeln!(out, "FAIL  {name}: {} of {fixtures} failed", failed.len())?;
            for f in failed {
                writeln!(
                    out,
                    "        {} [{}]: {}",
                    safe(&f.file),
                    f.expect.as_str(),
                    safe(&f.detail)
                )?;
            }
        }
    }
    for e in &load_errors {
        writeln!(
            out,
            "FAIL  not loaded: {}",
            safe(&format!("{}: {}", e.file, e.reason))
        )?;
    }
    for stem in &untested {
        let stem = safe(stem);
        writeln!(
            out,
            "note: {stem} has no test events (tests/{stem}/match, tests/{stem}/nomatch)"
        )?;
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count() + load_errors.len();
    let passed = outcomes.iter().filter(|o| o.passed).count();
    writeln!(
        out,
        "{} for {}: {passed} passed, {failed} failed",
        plural(outcomes.len(), "fixture"),
        plural(rules_tested.len(), "rule")
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// "1 fixture", "2 fixtures".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
