//! The function's configuration, read once at cold start from the environment; one
//! error lists every missing or invalid variable. The variables every ingest
//! function shares are read by [`trailhound_aws::env::IngestConfig`].

use trailhound_aws::env::{EnvReader, IngestConfig};
use trailhound_core::pipeline::PipelineConfig;

pub use trailhound_aws::env::{ConfigError, LoadedRules};

/// Where the model is read from when `MODEL_KEY` is not set.
pub const DEFAULT_MODEL_KEY: &str = "models/cloudtrail/model.bin";

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Table, topic, model bucket, alerting, limits, deduplication, suppressions
    /// and Sigma rules.
    pub ingest: IngestConfig,
    /// `MODEL_KEY`: the model artifact's key.
    pub model_key: String,
    /// `PROFILES_TABLE`: the DynamoDB table of per-principal profiles (behavioural
    /// baselines); `None` turns baselines off.
    pub profiles_table: Option<String>,
    /// `LEARNING_DAYS`: days of history a principal's profile needs before its
    /// novelty counts.
    pub learning_days: u32,
    /// `DEAD_LETTER_QUEUE_URL`: where a message that can never succeed is put once,
    /// with its reason; `None` leaves it to the queue's redrive policy.
    pub dead_letter_queue_url: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(get);
        let ingest = IngestConfig::read(&mut env);
        let model_key = env
            .optional("MODEL_KEY")
            .unwrap_or_else(|| DEFAULT_MODEL_KEY.to_owned());
        let profiles_table = env.optional("PROFILES_TABLE");
        let dead_letter_queue_url = env.optional("DEAD_LETTER_QUEUE_URL");
        let learning_days = env.parse(
            "LEARNING_DAYS",
            trailhound_core::baseline::DEFAULT_LEARNING_DAYS,
            |v| {
                v.parse::<u32>()
                    .map_err(|_| "expected a whole number of days".to_owned())
            },
        );
        env.finish()?;
        Ok(Self {
            ingest,
            model_key,
            profiles_table,
            learning_days,
            dead_letter_queue_url,
        })
    }

    /// The pipeline settings this configuration implies.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            baseline: trailhound_core::baseline::BaselineConfig {
                learning_days: self.learning_days,
                ..Default::default()
            },
            ..self.ingest.pipeline()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;
    use trailhound_core::Severity;

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
        assert_eq!(cfg.ingest.min_alert_severity, Severity::Medium);
        assert_eq!(cfg.ingest.max_decompressed_bytes, 536_870_912);
        assert_eq!(cfg.ingest.model_refresh, Duration::from_secs(300));
        assert_eq!(cfg.ingest.finding_ttl_days, 90);
        assert_eq!(
            cfg.profiles_table, None,
            "baselines are off without a table"
        );
        assert_eq!(cfg.learning_days, 7);
        assert_eq!(cfg.ingest.dedup_window_seconds, 3600);
        assert!(cfg.ingest.suppressions.is_empty());
        assert_eq!(
            cfg.dead_letter_queue_url, None,
            "without a queue the redrive policy keeps failures"
        );
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
            c.ingest
                .rules
                .0
                .rules()
                .iter()
                .map(|r| r.id.clone())
                .collect()
        };
        assert!(ids(&without).contains(&"ct.threshold.secrets_harvest".to_owned()));
        let mut with = base.to_vec();
        with.push(("RULES_DIR", corpus));
        let cfg = Config::from_lookup(lookup(&with)).unwrap();
        assert!(ids(&cfg).contains(&"4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01".to_owned()));
        let shared = cfg.pipeline().rules.unwrap();
        assert!(
            Arc::ptr_eq(&shared, &cfg.ingest.rules.0),
            "one rule set, one state"
        );
        let mut bad = base.to_vec();
        bad.push(("RULES_DIR", "/nonexistent/rules"));
        let err = Config::from_lookup(lookup(&bad)).unwrap_err();
        assert!(err.to_string().contains("RULES_DIR"), "{err}");
    }
}
