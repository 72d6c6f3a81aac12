//! Suppression entries: findings that are expected ("this CI role may call
//! `CreateAccessKey`") are stored but not alerted. Entries come from a YAML document
//! (`--suppressions FILE` for the CLI, `SUPPRESSIONS` or `SUPPRESSIONS_FILE` for the
//! Lambda), are checked at startup, and a bad document fails with the entry at fault:
//! a silently ignored suppression file would either drown people in alerts or, worse,
//! hide what the author meant to keep.
//!
//! ```yaml
//! suppressions:
//!   - detection: ct.iam.access_key_other_user
//!     principal: "arn:aws:iam::*:role/ci-*"
//!     reason: the CI role rotates the deploy user's keys
//!     expires: 2025-06-30
//! ```

use crate::finding::Finding;
use crate::rules::sigma::yaml::{self, YamlLimitError};
use crate::timefmt;
use serde::Deserialize;

/// Why a suppression document was refused.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// The document is not valid YAML of the expected shape (the message has the line).
    #[error("{origin}: {source}")]
    Syntax {
        /// Where the document came from (a path or an environment variable).
        origin: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_norway::Error,
    },
    /// The document is too large, nested too deep or uses aliases (checked before
    /// parsing; see [`crate::rules::sigma::yaml`]).
    #[error("{origin}: refused before parsing: {source}")]
    Limits {
        /// Where the document came from.
        origin: String,
        /// The limit passed.
        #[source]
        source: YamlLimitError,
    },
    /// One entry is invalid.
    #[error("{origin}: suppression entry {index} ({what}): {problem}")]
    Entry {
        /// Where the document came from.
        origin: String,
        /// 1-based position of the entry in the list.
        index: usize,
        /// The entry's detection and principal, to find it.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(default)]
    suppressions: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    detection: Option<String>,
    principal: Option<String>,
    account: Option<String>,
    action: Option<String>,
    source: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
}

/// One suppression entry. Every field set must match (globs: `*` any run of
/// characters, `?` one character, ASCII case-insensitive); an unset field matches
/// anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Glob on the finding's primary detection id.
    pub detection: Option<String>,
    /// Glob on the principal (ARN, or source IP for network sources).
    pub principal: Option<String>,
    /// Glob on the account id.
    pub account: Option<String>,
    /// Glob on the action (`iam:CreateAccessKey`).
    pub action: Option<String>,
    /// Glob on the log source (`cloudtrail`, `vpcflow`, …).
    pub source: Option<String>,
    /// Why the finding is expected; recorded on the finding as `suppressed_by`.
    pub reason: String,
    /// Epoch seconds from which the entry no longer applies (the day after
    /// `expires`), if it expires.
    pub expires_at: Option<i64>,
}

impl Suppression {
    /// Whether the entry applies to a finding. Events at or after the entry's
    /// expiry are not suppressed.
    pub fn matches(&self, f: &Finding) -> bool {
        let field = |glob: &Option<String>, value: &str| {
            glob.as_deref().is_none_or(|g| glob_match(g, value))
        };
        field(&self.detection, f.primary_detection())
            && field(&self.principal, &f.principal)
            && field(&self.account, &f.account)
            && field(&self.action, &f.action)
            && field(&self.source, &f.source)
            && self
                .expires_at
                .is_none_or(|end| timefmt::parse_rfc3339(&f.time).is_none_or(|t| t < end))
    }
}

/// The active suppression entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressions {
    entries: Vec<Suppression>,
}

impl Suppressions {
    /// Parses a YAML document. Entries already expired at `now` (epoch seconds) are
    /// dropped and described in the returned warnings, for the caller to log.
    pub fn from_yaml(
        text: &str,
        origin: &str,
        now: i64,
    ) -> Result<(Self, Vec<String>), SuppressionError> {
        let doc: RawDocument = if text.trim().is_empty() {
            RawDocument {
                suppressions: Vec::new(),
            }
        } else {
            yaml::check(text).map_err(|source| SuppressionError::Limits {
                origin: origin.to_owned(),
                source,
            })?;
            serde_norway::from_str(text).map_err(|source| SuppressionError::Syntax {
                origin: origin.to_owned(),
                source,
            })?
        };
        let mut entries = Vec::with_capacity(doc.suppressions.len());
        let mut warnings = Vec::new();
        for (i, raw) in doc.suppressions.into_iter().enumerate() {
            let what = format!(
                "detection {}, principal {}",
                raw.detection.as_deref().unwrap_or("*"),
                raw.principal.as_deref().unwrap_or("*")
            );
            let bad = |problem: &str| SuppressionError::Entry {
                origin: origin.to_owned(),
                index: i + 1,
                what: what.clone(),
                problem: problem.to_owned(),
            };
            let entry = validate(raw).map_err(bad)?;
            match entry.expires_at {
                Some(end) if end <= now => warnings.push(format!(
                    "{origin}: suppression entry {} ({what}) expired on {}, ignored",
                    i + 1,
                    timefmt::format_rfc3339(end - 86_400)
                        .get(..10)
                        .unwrap_or("?")
                )),
                _ => entries.push(entry),
            }
        }
        Ok((Self { entries }, warnings))
    }

    /// The entries in force.
    pub fn entries(&self) -> &[Suppression] {
        &self.entries
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry that applies to a finding.
    pub fn matching(&self, f: &Finding) -> Option<&Suppression> {
        self.entries.iter().find(|e| e.matches(f))
    }
}

fn validate(raw: RawEntry) -> Result<Suppression, &'static str> {
    let reason = match raw.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => r.to_owned(),
        _ => return Err("`reason` is required: say why these findings are expected"),
    };
    let globs = [
        &raw.detection,
        &raw.principal,
        &raw.account,
        &raw.action,
        &raw.source,
    ];
    if globs
        .iter()
        .any(|g| g.as_deref().is_some_and(|g| g.trim().is_empty()))
    {
        return Err("an empty pattern matches nothing; remove the field or write `*`");
    }
    let narrowing = [&raw.detection, &raw.principal, &raw.action];
    if narrowing
        .iter()
        .all(|g| g.as_deref().is_none_or(|g| g.chars().all(|c| c == '*')))
    {
        return Err(
            "name a detection, a principal or an action: this entry would suppress everything",
        );
    }
    let expires_at = match raw.expires.as_deref() {
        None => None,
        Some(d) => Some(parse_date(d).ok_or("`expires` must be a date, YYYY-MM-DD")? + 86_400),
    };
    Ok(Suppression {
        detection: raw.detection,
        principal: raw.principal,
        account: raw.account,
        action: raw.action,
        source: raw.source,
        reason,
        expires_at,
    })
}

/// Midnight UTC of a `YYYY-MM-DD` date, in epoch seconds.
fn parse_date(d: &str) -> Option<i64> {
    let b = d.trim().as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = d.trim().get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, m, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month {
        return None;
    }
    Some(timefmt::days_from_civil(y, m, day) * 86_400)
}

/// Glob match: `*` any run of characters (including none), `?` exactly one,
/// ASCII case-insensitive. Linear-time two-pointer match with one backtrack point.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Detection, Triage};
    use crate::severity::Severity;

    const NOW: i64 = 1_717_200_000; // 2024-06-01

    fn finding(detection: &str, principal: &str, time: &str) -> Finding {
        Finding {
            finding_id: "0123456789abcdef0123456789abcdef".into(),
            event_id: "5f4d6c1e-0000-4000-8000-000000000001".into(),
            source: "cloudtrail".into(),
            time: time.into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            principal: principal.into(),
            action: "iam:CreateAccessKey".into(),
            score: 0.6,
            severity: Some(Severity::High),
            severity_score: 7.5,
            detections: vec![Detection {
                id: detection.into(),
                technique: Some("T1098.001".into()),
            }],
            reasons: vec!["Access key created for another user (T1098.001)".into()],
            model_version: "none".into(),
            triage: Triage::default(),
        }
    }

    #[test]
    fn globs_match_stars_question_marks_and_case() {
        let cases = [
            (
                "arn:aws:iam::*:role/ci-*",
                "arn:aws:iam::123456789012:role/ci-deployer",
                true,
            ),
            (
                "arn:aws:iam::*:role/ci-*",
                "arn:aws:iam::123456789012:role/admin",
                false,
            ),
            ("ct.iam.*", "ct.iam.access_key_other_user", true),
            ("ct.iam.*", "ct.s3.bucket_public", false),
            ("CT.IAM.*", "ct.iam.user_created", true),
            ("10.0.?.1", "10.0.3.1", true),
            ("10.0.?.1", "10.0.33.1", false),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "glob {p:?} on {t:?}");
        }
    }

    #[test]
    fn an_entry_suppresses_only_what_it_names() {
        let yaml = r#"
suppressions:
  - detection: ct.iam.access_key_other_user
    principal: "arn:aws:iam::*:role/ci-*"
    reason: the CI role rotates the deploy user's keys
"#;
        let (s, warnings) = Suppressions::from_yaml(yaml, "test.yaml", NOW).unwrap();
        assert!(warnings.is_empty());
        let ci = finding(
            "ct.iam.access_key_other_user",
            "arn:aws:iam::123456789012:role/ci-deployer",
            "2024-06-01T10:00:00Z",
        );
        assert_eq!(
            s.matching(&ci).map(|e| e.reason.as_str()),
            Some("the CI role rotates the deploy user's keys")
        );
        let human = finding(
            "ct.iam.access_key_other_user",
            "arn:aws:iam::123456789012:user/mallory",
            "2024-06-01T10:00:00Z",
        );
        assert!(s.matching(&human).is_none());
        let other_rule = finding(
            "ct.iam.admin_policy_attached",
            "arn:aws:iam::123456789012:role/ci-deployer",
            "2024-06-01T10:00:00Z",
        );
        assert!(s.matching(&other_rule).is_none());
    }

    #[test]
    fn expired_entries_are_dropped_with_a_warning_and_expiry_is_checked_per_event() {
        let yaml = r#"
suppressions:
  - principal: "*:role/old-*"
    reason: retired
    expires: 2024-05-31
  - principal: "*:role/ci-*"
    reason: until the end of June
    expires: 2024-06-30
"#;
        let (s, warnings) = Suppressions::from_yaml(yaml, "s.yaml", NOW).unwrap();
        assert_eq!(s.entries().len(), 1);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("entry 1") && warnings[0].contains("2024-05-31"));
        let p = "arn:aws:iam::123456789012:role/ci-deployer";
        let last_day = finding("ct.iam.user_created", p, "2024-06-30T23:59:59Z");
        let after = finding("ct.iam.user_created", p, "2024-07-01T00:00:00Z");
        assert!(s.matching(&last_day).is_some());
        assert!(s.matching(&after).is_none());
    }

    #[test]
    fn bad_documents_name_the_entry_or_line_at_fault() {
        let cases = [
            (
                "suppressions:\n  - detection: ct.iam.*\n",
                "entry 1",
                "reason",
            ),
            (
                "suppressions:\n  - principal: a\n    reason: r\n  - reason: everything\n",
                "entry 2",
                "suppress everything",
            ),
            (
                "suppressions:\n  - principal: a\n    reason: r\n    expires: 2024-02-30\n",
                "entry 1",
                "YYYY-MM-DD",
            ),
            (
                "suppressions:\n  - principal: a\n    reason: r\n    principle: typo\n",
                "line 4",
                "principle",
            ),
            ("suppressions: [\n", "line", ""),
        ];
        for (yaml, at, what) in cases {
            let err = Suppressions::from_yaml(yaml, "bad.yaml", NOW)
                .expect_err(yaml)
                .to_string();
            assert!(err.starts_with("bad.yaml: "), "{err}");
            assert!(err.contains(at), "{yaml:?}: {err}");
            assert!(err.contains(what), "{yaml:?}: {err}");
        }
    }

    #[test]
    fn the_example_file_in_infra_loads() {
        let text = include_str!("../../../../infra/suppressions.example.yaml");
        let (s, warnings) =
            Suppressions::from_yaml(text, "suppressions.example.yaml", NOW).unwrap();
        assert_eq!((s.entries().len(), warnings.len()), (2, 0));
        let ci = finding(
            "ct.iam.access_key_other_user",
            "arn:aws:iam::123456789012:role/ci-deployer",
            "2024-06-01T10:00:00Z",
        );
        assert!(s.matching(&ci).is_some());
    }

    /// Regression: 100,000 `[` took 28 s in the YAML parser (quadratic in depth),
    /// and aliases of aliases expand without bound; both are refused before parsing.
    #[test]
    fn hostile_documents_are_refused_quickly_before_parsing() {
        let mut block = String::from("suppressions:\n");
        for i in 1..200 {
            block.push_str(&format!("{}- \n", " ".repeat(2 * i)));
        }
        let mut bomb = String::from("a: &a \"lol\"\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "{}: &{} [{}]\n",
                i,
                i,
                vec![format!("*{}", i - 1); 10].join(", ")
            ));
        }
        bomb = bomb.replace("*0", "*a");
        let cases = [
            (
                "flow",
                format!("suppressions: {}", "[".repeat(100_000)),
                "nests deeper",
            ),
            (
                "map",
                format!("suppressions: {}", "{".repeat(100_000)),
                "nests deeper",
            ),
            ("block", block, "nests deeper"),
            ("alias bomb", bomb, "aliases"),
            ("size", format!("# {}\n", "x".repeat(2 << 20)), "bytes"),
        ];
        for (name, text, want) in cases {
            let err = Suppressions::from_yaml(&text, "hostile.yaml", NOW)
                .expect_err(name)
                .to_string();
            assert!(
                err.starts_with("hostile.yaml: refused before parsing"),
                "{name}: {err}"
            );
            // Refused by the linear pre-scan: the parser never sees the text.
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn an_empty_document_suppresses_nothing() {
        let (s, w) = Suppressions::from_yaml("  \n", "empty.yaml", NOW).unwrap();
        assert!(s.is_empty() && w.is_empty());
    }
}
