//! Rule self-tests: every rule runs on its own test events, a matching and a
//! non-matching real-shaped CloudTrail record at least.
//!
//! Built-in rules carry theirs in the source tree (`rules/tests/<rule id>/` and
//! `rules/sigma/builtin/tests/<file stem>/`, compiled in). For Sigma rules in a
//! directory the convention is `DIR/tests/<rule file stem>/match/*.json` and
//! `DIR/tests/<rule file stem>/nomatch/*.json`. A test file holds one record, a
//! JSON array of records, or a CloudTrail log file (`{"Records":[...]}`); records
//! are fed in order with fresh correlation state. A `match` file passes when any
//! rule of the rule file fires on it (an alerting detection rule, or a correlation
//! rule reaching its threshold); a `nomatch` file passes when none does.

use super::builtin;
use super::sigma::{Origin, RuleSet};
use crate::timefmt;
use serde_json::Value;
use std::path::Path;

/// What a test file expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Some rule of the file under test fires.
    Match,
    /// No rule of the file under test fires.
    NoMatch,
}

impl Expect {
    /// `match` or `nomatch`, as in the folder names.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Match => "match",
            Expect::NoMatch => "nomatch",
        }
    }
}

/// The result of one test file.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The rule id (built-in rules) or the rule file stem (Sigma files).
    pub rule: String,
    /// The test file (its path, or `builtin:<rule>/<name>` for compiled-in ones).
    pub file: String,
    /// What it expects.
    pub expect: Expect,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

macro_rules! builtin_case {
    ($id:literal) => {
        (
            $id,
            include_str!(concat!("tests/", $id, "/match.json")),
            include_str!(concat!("tests/", $id, "/nomatch.json")),
        )
    };
}

/// Test records of the built-in rules: (rule id, matching, non-matching).
const BUILTIN_CASES: &[(&str, &str, &str)] = &[
    builtin_case!("ct.cloudtrail.delete_trail"),
    builtin_case!("ct.cloudtrail.selectors_weakened"),
    builtin_case!("ct.cloudtrail.stop_logging"),
    builtin_case!("ct.config.stopped"),
    builtin_case!("ct.ec2.sg_open_world"),
    builtin_case!("ct.exposure.snapshot_public"),
    builtin_case!("ct.exposure.snapshot_shared"),
    builtin_case!("ct.guardduty.disabled"),
    builtin_case!("ct.iam.access_key_other_user"),
    builtin_case!("ct.iam.admin_policy_attached"),
    builtin_case!("ct.iam.login_profile_other_user"),
    builtin_case!("ct.iam.mfa_removed"),
    builtin_case!("ct.iam.role_trust_changed"),
    builtin_case!("ct.iam.role_trust_other_account"),
    builtin_case!("ct.iam.role_trust_public"),
    builtin_case!("ct.iam.user_created"),
    builtin_case!("ct.kms.key_deletion"),
    builtin_case!("ct.lambda.public"),
    builtin_case!("ct.lambda.url_without_auth"),
    builtin_case!("ct.logs.flow_or_dns_logs_deleted"),
    builtin_case!("ct.org.leave"),
    builtin_case!("ct.root.usage"),
    builtin_case!("ct.s3.bucket_public"),
    builtin_case!("ct.s3.public_access_block_removed"),
    builtin_case!("ct.s3.replication_set"),
    builtin_case!("ct.signin.console_no_mfa"),
];

macro_rules! threshold_case {
    ($stem:literal, $expect:ident, $name:literal) => {
        (
            $stem,
            Expect::$expect,
            $name,
            include_str!(concat!(
                "sigma/builtin/tests/",
                $stem,
                "/",
                threshold_dir!($expect),
                "/",
                $name,
                ".json"
            )),
        )
    };
}

macro_rules! threshold_dir {
    (Match) => {
        "match"
    };
    (NoMatch) => {
        "nomatch"
    };
}

/// Test files of the built-in Sigma (threshold) rules: (file stem, expect, name, text).
const THRESHOLD_CASES: &[(&str, Expect, &str, &str)] = &[
    threshold_case!("console_brute_force", Match, "one_address_twelve_failures"),
    threshold_case!("console_brute_force", NoMatch, "failures_an_hour_apart"),
    threshold_case!("mass_deletion", Match, "two_dozen_in_four_minutes"),
    threshold_case!("mass_deletion", NoMatch, "object_cleanup"),
    threshold_case!("secrets_harvest", Match, "twenty_two_distinct_secrets"),
    threshold_case!("secrets_harvest", NoMatch, "same_two_secrets_all_day"),
];

/// Records of a test file: one record, an array, or `{"Records":[...]}`.
pub fn records(text: &str) -> Result<Vec<Value>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    Ok(match v {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("Records") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err("`Records` is not an array".to_owned()),
            None => vec![Value::Object(m)],
        },
        _ => return Err("not a record, an array of records or a log file".to_owned()),
    })
}

fn outcome(rule: &str, file: String, expect: Expect, fired: Result<bool, String>) -> TestOutcome {
    let (passed, detail) = match (fired, expect) {
        (Ok(true), Expect::Match) | (Ok(false), Expect::NoMatch) => (true, String::new()),
        (Ok(false), Expect::Match) => (false, "expected a match, no rule fired".to_owned()),
        (Ok(true), Expect::NoMatch) => (false, "expected no match, the rule fired".to_owned()),
        (Err(e), _) => (false, e),
    };
    TestOutcome {
        rule: rule.to_owned(),
        file,
        expect,
        passed,
        detail,
    }
}

/// Runs the test records of every built-in rule (Rust rules and threshold rules).
pub fn builtin_outcomes() -> Vec<TestOutcome> {
    let mut out = Vec::new();
    for rule in builtin::rules() {
        let case = BUILTIN_CASES.iter().find(|c| c.0 == rule.id);
        let Some((id, yes, no)) = case else {
            out.push(outcome(
                rule.id,
                format!("builtin:{}", rule.id),
                Expect::Match,
                Err("no test records".to_owned()),
            ));
            continue;
        };
        for (expect, text) in [(Expect::Match, yes), (Expect::NoMatch, no)] {
            let fired = builtin::matching(text.as_bytes())
                .map(|ids| ids.contains(id))
                .map_err(|e| format!("bad test record: {e}"));
            let file = format!("builtin:{id}/{}.json", expect.as_str());
            out.push(outcome(id, file, expect, fired));
        }
    }
    let (set, errors) = RuleSet::builtin();
    for e in errors {
        out.push(outcome(
            &e.file,
            e.file.clone(),
            Expect::Match,
            Err(e.reason),
        ));
    }
    for (stem, expect, name, text) in THRESHOLD_CASES {
        let fired = records(text).map(|r| fires(&set, stem, true, &r));
        let file = format!("builtin:{stem}/{}/{name}.json", expect.as_str());
        out.push(outcome(stem, file, *expect, fired));
    }
    out
}

/// Runs `DIR/tests/<stem>/{match,nomatch}/*.json` against the rules of `set`
/// loaded from files named `<stem>.yml`/`.yaml`. A test folder whose rule file
/// did not load fails.
pub fn dir_outcomes(set: &RuleSet, dir: &Path) -> Vec<TestOutcome> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("tests")) else {
        return out;
    };
    let mut stems: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    for stem in stems {
        let loaded = set
            .rules()
            .iter()
            .any(|r| matches!(r.origin, Origin::File(_)) && r.file_stem() == stem);
        for expect in [Expect::Match, Expect::NoMatch] {
            let folder = dir.join("tests").join(&stem).join(expect.as_str());
            let Ok(files) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut files: Vec<_> = files
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for f in files {
                let fired = if loaded {
                    std::fs::read_to_string(&f)
                        .map_err(|e| format!("cannot read: {e}"))
                        .and_then(|t| records(&t))
                        .map(|r| fires(set, &stem, false, &r))
                } else {
                    Err(format!("no loaded rule file `{stem}.yml`"))
                };
                out.push(outcome(&stem, f.display().to_string(), expect, fired));
            }
        }
    }
    out
}

/// Whether any rule read from a file with this stem (built in, or not) fires on `records` (fed in
/// order, with fresh correlation state).
fn fires(set: &RuleSet, stem: &str, builtin: bool, records: &[Value]) -> bool {
    let members: Vec<u16> = set
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.file_stem() == stem && matches!(r.origin, Origin::BuiltIn) == builtin)
        .filter_map(|(i, _)| u16::try_from(i).ok())
        .collect();
    set.reset_state();
    let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut fired = false;
    for r in records {
        let time = timefmt::parse_rfc3339(&text(r, "eventTime")).unwrap_or(0);
        let candidates = set.candidates(&text(r, "eventSource"), &text(r, "eventName"));
        let hits = set.evaluate(&candidates, r, time);
        fired |= hits.rules.iter().any(|i| members.contains(i))
            || hits.correlations.iter().any(|c| members.contains(&c.rule));
    }
    set.reset_state();
    fired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_passes_its_matching_and_non_matching_records() {
        let outcomes = builtin_outcomes();
        let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        for rule in builtin::rules() {
            for expect in [Expect::Match, Expect::NoMatch] {
                assert!(
                    outcomes
                        .iter()
                        .any(|o| o.rule == rule.id && o.expect == expect),
                    "{} has no {} record",
                    rule.id,
                    expect.as_str()
                );
            }
        }
        let (set, _) = RuleSet::builtin();
        for r in set.rules() {
            for expect in [Expect::Match, Expect::NoMatch] {
                assert!(
                    outcomes
                        .iter()
                        .any(|o| o.rule == r.file_stem() && o.expect == expect),
                    "{} has no {} file",
                    r.file_stem(),
                    expect.as_str()
                );
            }
        }
    }

    #[test]
    fn builtin_test_records_are_full_cloudtrail_records() {
        for (id, yes, no) in BUILTIN_CASES {
            for text in [yes, no] {
                let r = records(text).unwrap_or_default();
                assert_eq!(r.len(), 1, "{id}");
                for key in [
                    "eventVersion",
                    "userIdentity",
                    "eventTime",
                    "eventSource",
                    "eventName",
                    "awsRegion",
                    "sourceIPAddress",
                    "userAgent",
                    "eventID",
                    "recipientAccountId",
                ] {
                    assert!(r[0].get(key).is_some(), "{id}: no {key}");
                }
            }
        }
    }

    #[test]
    fn a_test_file_fails_when_its_expectation_does_not_hold() {
        let (set, errors) = RuleSet::builtin();
        assert!(errors.is_empty(), "{errors:?}");
        // The brute-force burst, cut to three failures: below the threshold.
        let (_, _, _, text) = THRESHOLD_CASES
            .iter()
            .find(|c| c.0 == "console_brute_force" && c.1 == Expect::Match)
            .copied()
            .unwrap_or(("", Expect::Match, "", "{}"));
        let mut r = records(text).unwrap_or_default();
        assert!(fires(&set, "console_brute_force", true, &r));
        r.truncate(3);
        assert!(!fires(&set, "console_brute_force", true, &r));
    }
}
