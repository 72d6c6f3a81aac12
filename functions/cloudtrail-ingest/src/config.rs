//! The function's configuration, read once at cold start from the environment in
//! two stages (raw strings, then validated values) so that one error lists every
//! missing or invalid variable.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailhound_core::Severity;
use trailhound_core::alerting::{AlertPolicy, DEFAULT_DEDUP_WINDOW_SECONDS, Suppressions};
use trailhound_core::decode::{DEFAULT_MAX_DECOMPRESSED_BYTES, Limits};
use trailhound_core::pipeline::PipelineConfig;
use trailhound_core::rules::sigma::RuleSet;

/// Where the model is read from when `MODEL_KEY` is not set.
pub const DEFAULT_MODEL_KEY: &str = "models/cloudtrail/model.bin";

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `FINDINGS_TABLE`: the DynamoDB table of findings and summaries.
    pub findings_table: String,
    /// `ALERTS_TOPIC_ARN`: the SNS topic alerts go to.
    pub alerts_topic_arn: String,
    /// `MODEL_BUCKET`: the bucket holding the model artifact.
    pub model_bucket: String,
    /// `MODEL_KEY`: the model artifact's key.
    pub model_key: String,
    /// `MIN_ALERT_SEVERITY`: alerts go out at or above this severity.
    pub min_alert_severity: Severity,
    /// `MAX_DECOMPRESSED_BYTES`: the cap on one object's decompressed (and stored) size.
    pub max_decompressed_bytes: u64,
    /// `MODEL_REFRESH_SECONDS`: how often the model's ETag is revalidated.
    pub model_refresh: Duration,
    /// `FINDING_TTL_DAYS`: how long findings and summaries are kept.
    pub finding_ttl_days: u32,
    /// `PROFILES_TABLE`: the DynamoDB table of per-principal profiles (behavioural
    /// baselines); `None` turns baselines off.
    pub profiles_table: Option<String>,
    /// `LEARNING_DAYS`: days of history a principal's profile needs before its
    /// novelty counts.
    pub learning_days: u32,
    /// `DEDUP_WINDOW_SECONDS`: one alert per detection and principal in each window
    /// of this many seconds; 0 turns deduplication off.
    pub dedup_window_seconds: u64,
    /// `SUPPRESSIONS` (inline YAML) or `SUPPRESSIONS_FILE` (a path, e.g. a file
    /// bundled with the function): findings they match are stored, not alerted.
    pub suppressions: Suppressions,
    /// `RULES_DIR` (optional): a directory of Sigma rules bundled with the function,
    /// loaded with the built-in threshold rules once per cold start.
    pub rules: LoadedRules,
}

/// The Sigma rules of a configuration: one shared set, so that threshold counts
/// carry over between the invocations of a warm instance.
#[derive(Debug, Clone)]
pub struct LoadedRules(pub Arc<RuleSet>);

impl PartialEq for LoadedRules {
    fn eq(&self, other: &Self) -> bool {
        let ids = |r: &RuleSet| r.rules().iter().map(|x| x.id.clone()).collect::<Vec<_>>();
        Arc::ptr_eq(&self.0, &other.0) || ids(&self.0) == ids(&other.0)
    }
}

/// Loads the built-in threshold rules and `RULES_DIR`'s. A missing directory is a
/// problem; a rule file that does not load is logged and skipped, the rest load.
fn rules(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> LoadedRules {
    let mut builder = RuleSet::builder().builtin();
    if let Some(dir) = get("RULES_DIR") {
        let path = std::path::Path::new(&dir);
        if path.is_dir() {
            builder = builder.dir(path);
        } else {
            problems.push(format!("RULES_DIR {dir:?}: not a directory"));
        }
    }
    let (set, errors) = builder.build();
    for e in errors {
        tracing::error!(file = %e.file, reason = %e.reason, "Sigma rule not loaded");
    }
    LoadedRules(Arc::new(set))
}

/// Every problem found in the environment, listed together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// One line per missing or invalid variable.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut required = |name: &str| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set"));
                String::new()
            })
        };
        let findings_table = required("FINDINGS_TABLE");
        let alerts_topic_arn = required("ALERTS_TOPIC_ARN");
        let model_bucket = required("MODEL_BUCKET");
        if !alerts_topic_arn.is_empty() && !alerts_topic_arn.starts_with("arn:") {
            problems.push(format!(
                "ALERTS_TOPIC_ARN {alerts_topic_arn:?} is not an ARN"
            ));
        }
        let model_key = get("MODEL_KEY").unwrap_or_else(|| DEFAULT_MODEL_KEY.to_owned());
        let min_alert_severity = parse(
            &get,
            &mut problems,
            "MIN_ALERT_SEVERITY",
            Severity::Medium,
            |v| v.parse::<Severity>().map_err(|e| e.to_string()),
        );
        let max_decompressed_bytes = parse(
            &get,
            &mut problems,
            "MAX_DECOMPRESSED_BYTES",
            DEFAULT_MAX_DECOMPRESSED_BYTES,
            |v| match v.parse::<u64>() {
                Ok(0) | Err(_) => Err("expected a positive number of bytes".to_owned()),
                Ok(n) => Ok(n),
            },
        );
        let refresh = parse(&get, &mut problems, "MODEL_REFRESH_SECONDS", 300, |v| {
            v.parse::<u64>()
                .map_err(|_| "expected a whole number of seconds".to_owned())
        });
        let finding_ttl_days = parse(&get, &mut problems, "FINDING_TTL_DAYS", 90, |v| {
            match v.parse::<u32>() {
                Ok(0) | Err(_) => Err("expected a positive number of days".to_owned()),
                Ok(n) => Ok(n),
            }
        });
        let profiles_table = get("PROFILES_TABLE");
        let learning_days = parse(
            &get,
            &mut problems,
            "LEARNING_DAYS",
            trailhound_core::baseline::DEFAULT_LEARNING_DAYS,
            |v| {
                v.parse::<u32>()
                    .map_err(|_| "expected a whole number of days".to_owned())
            },
        );
        let dedup_window_seconds = parse(
            &get,
            &mut problems,
            "DEDUP_WINDOW_SECONDS",
            DEFAULT_DEDUP_WINDOW_SECONDS,
            |v| {
                v.parse::<u64>()
                    .map_err(|_| "expected a whole number of seconds (0: off)".to_owned())
            },
        );
        let suppressions = suppressions(&get, &mut problems);
        let rules = rules(&get, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            findings_table,
            alerts_topic_arn,
            model_bucket,
            model_key,
            min_alert_severity,
            max_decompressed_bytes,
            model_refresh: Duration::from_secs(refresh),
            finding_ttl_days,
            profiles_table,
            learning_days,
            dedup_window_seconds,
            suppressions,
            rules,
        })
    }

    /// The pipeline settings this configuration implies.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            limits: Limits {
                max_decompressed_bytes: self.max_decompressed_bytes,
                ..Limits::default()
            },
            min_alert_severity: self.min_alert_severity,
            baseline: trailhound_core::baseline::BaselineConfig {
                learning_days: self.learning_days,
                ..Default::default()
            },
            alert_policy: AlertPolicy {
                dedup_window_seconds: self.dedup_window_seconds,
                suppressions: Arc::new(self.suppressions.clone()),
            },
            rules: Some(self.rules.0.clone()),
            ..PipelineConfig::default()
        }
    }
}

/// Reads `SUPPRESSIONS` or `SUPPRESSIONS_FILE` (not both). A bad document is a
/// problem naming the entry at fault; expired entries are logged and ignored.
fn suppressions(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Suppressions {
    let (text, origin) = match (get("SUPPRESSIONS"), get("SUPPRESSIONS_FILE")) {
        (None, None) => return Suppressions::default(),
        (Some(_), Some(_)) => {
            problems.push("SUPPRESSIONS and SUPPRESSIONS_FILE are both set; use one".to_owned());
            return Suppressions::default();
        }
        (Some(inline), None) => (inline, "SUPPRESSIONS".to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => (text, format!("SUPPRESSIONS_FILE {path}")),
            Err(e) => {
                problems.push(format!("SUPPRESSIONS_FILE {path:?}: cannot read it: {e}"));
                return Suppressions::default();
            }
        },
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match Suppressions::from_yaml(&text, &origin, now) {
        Ok((s, warnings)) => {
            for w in warnings {
                tracing::warn!(warning = %w, "suppression entry ignored");
            }
            s
        }
        Err(e) => {
            problems.push(e.to_string());
            Suppressions::default()
        }
    }
}

fn parse<T>(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
    name: &str,
    default: T,
    f: impl Fn(&str) -> Result<T, String>,
) -> T {
    match get(name) {
        None => default,
        Some(v) => f(&v).unwrap_or_else(|why| {
            problems.push(format!("{name} {v:?}: {why}"));
            default
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_fill_the_optional_variables() {
        let cfg = Config::from_lookup(lookup(&[
            ("FINDINGS_TABLE", "findings"),
            (
                "ALERTS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("MODEL_BUCKET", "models"),
        ]))
        .unwrap();
        assert_eq!(cfg.model_key, DEFAULT_MODEL_KEY);
        assert_eq!(cfg.min_alert_severity, Severity::Medium);
        assert_eq!(cfg.max_decompressed_bytes, 536_870_912);
        assert_eq!(cfg.model_refresh, Duration::from_secs(300));
        assert_eq!(cfg.finding_ttl_days, 90);
        assert_eq!(cfg.profiles_table, None, "baselines are off without a table");
        assert_eq!(cfg.learning_days, 7);
        assert_eq!(cfg.dedup_window_seconds, 3600);
        assert!(cfg.suppressions.is_empty());
    }

    #[test]
    fn dedup_window_and_inline_suppressions_reach_the_pipeline() {
        let cfg = Config::from_lookup(lookup(&[
            ("FINDINGS_TABLE", "findings"),
            (
                "ALERTS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("MODEL_BUCKET", "models"),
            ("DEDUP_WINDOW_SECONDS", "0"),
            (
                "SUPPRESSIONS",
                "suppressions:\n  - principal: \"arn:aws:iam::*:role/ci-*\"\n    action: iam:CreateAccessKey\n    reason: CI rotates keys\n",
            ),
        ]))
        .unwrap();
        let policy = cfg.pipeline().alert_policy;
        assert_eq!(policy.dedup_window_seconds, 0);
        assert_eq!(policy.suppressions.entries().len(), 1);
        assert_eq!(policy.suppressions.entries()[0].reason, "CI rotates keys");
    }

    #[test]
    fn bad_suppressions_fail_the_cold_start_naming_the_entry() {
        let dir = std::env::temp_dir().join(format!("th-supp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("suppressions.yaml");
        std::fs::write(&file, "suppressions:\n  - detection: ct.root.usage\n").unwrap();
        let base = [
            ("FINDINGS_TABLE", "findings"),
            (
                "ALERTS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("MODEL_BUCKET", "models"),
        ];
        let path = file.to_str().unwrap();
        let mut vars = base.to_vec();
        vars.push(("SUPPRESSIONS_FILE", path));
        let err = Config::from_lookup(lookup(&vars)).unwrap_err().to_string();
        assert!(
            err.contains("SUPPRESSIONS_FILE")
                && err.contains("suppression entry 1")
                && err.contains("reason"),
            "{err}"
        );
        vars.push(("SUPPRESSIONS", "suppressions: []"));
        let err = Config::from_lookup(lookup(&vars)).unwrap_err().to_string();
        assert!(err.contains("both set"), "{err}");
        let mut vars = base.to_vec();
        vars.push(("DEDUP_WINDOW_SECONDS", "an hour"));
        let err = Config::from_lookup(lookup(&vars)).unwrap_err().to_string();
        assert!(err.contains("DEDUP_WINDOW_SECONDS"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn profiles_table_turns_baselines_on() {
        let cfg = Config::from_lookup(lookup(&[
            ("FINDINGS_TABLE", "findings"),
            (
                "ALERTS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("MODEL_BUCKET", "models"),
            ("PROFILES_TABLE", "profiles"),
            ("LEARNING_DAYS", "14"),
        ]))
        .unwrap();
        assert_eq!(cfg.profiles_table.as_deref(), Some("profiles"));
        assert_eq!(cfg.pipeline().baseline.learning_days, 14);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = Config::from_lookup(lookup(&[
            ("ALERTS_TOPIC_ARN", "alerts"),
            ("MIN_ALERT_SEVERITY", "severe"),
            ("MAX_DECOMPRESSED_BYTES", "0"),
            ("MODEL_REFRESH_SECONDS", "soon"),
            ("FINDING_TTL_DAYS", "-1"),
            ("LEARNING_DAYS", "a week"),
        ]))
        .unwrap_err();
        let names = [
            "FINDINGS_TABLE",
            "MODEL_BUCKET",
            "ALERTS_TOPIC_ARN",
            "MIN_ALERT_SEVERITY",
            "MAX_DECOMPRESSED_BYTES",
            "MODEL_REFRESH_SECONDS",
            "FINDING_TTL_DAYS",
            "LEARNING_DAYS",
        ];
        assert_eq!(err.problems.len(), names.len(), "{err}");
        for name in names {
            assert!(err.to_string().contains(name), "{name} missing from {err}");
        }
    }

    #[test]
    fn rules_dir_loads_with_the_builtin_thresholds_and_a_missing_one_is_a_problem() {
        let corpus = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/core/tests/fixtures/sigma/rules"
        );
        let base = [
            ("FINDINGS_TABLE", "f"),
            ("ALERTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:a"),
            ("MODEL_BUCKET", "m"),
        ];
        let without = Config::from_lookup(lookup(&base)).unwrap();
        let ids = |c: &Config| -> Vec<String> {
            c.rules.0.rules().iter().map(|r| r.id.clone()).collect()
        };
        assert!(ids(&without).contains(&"ct.threshold.secrets_harvest".to_owned()));
        let mut with = base.to_vec();
        with.push(("RULES_DIR", corpus));
        let cfg = Config::from_lookup(lookup(&with)).unwrap();
        assert!(ids(&cfg).contains(&"4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01".to_owned()));
        let shared = cfg.pipeline().rules.unwrap();
        assert!(
            Arc::ptr_eq(&shared, &cfg.rules.0),
            "one rule set, one state"
        );
        let mut bad = base.to_vec();
        bad.push(("RULES_DIR", "/nonexistent/rules"));
        let err = Config::from_lookup(lookup(&bad)).unwrap_err();
        assert!(err.to_string().contains("RULES_DIR"), "{err}");
    }
}
