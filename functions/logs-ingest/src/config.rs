//! The function's configuration, read once at cold start from the environment; one
//! error lists every missing or invalid variable. The variables every ingest
//! function shares are read by [`trailhound_aws::env::IngestConfig`].

use trailhound_aws::env::{EnvReader, IngestConfig};
use trailhound_core::decode::DEFAULT_MAX_PAYLOAD_BYTES;
use trailhound_core::logs::LogsConfig;
use trailhound_core::sources::cwl::SourceMap;

pub use trailhound_aws::env::ConfigError;

/// Where each source's model is read from when `MODEL_KEY` is not set; `{source}`
/// becomes `cloudtrail`, `vpcflow` or `access_log`.
pub const DEFAULT_MODEL_KEY: &str = "models/{source}/model.bin";

/// The largest `MAX_PAYLOAD_BYTES` accepted (64 MiB): a payload is held in memory
/// whole, and peak memory is a small multiple of it, so a larger cap would not fit
/// the function's 512 MB.
pub const MAX_PAYLOAD_CEILING: u64 = 64 * 1024 * 1024;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Table, topic, model bucket, alerting, limits, deduplication, suppressions
    /// and Sigma rules (for CloudTrail events delivered through CloudWatch Logs).
    pub ingest: IngestConfig,
    /// `MODEL_KEY`: the key pattern of the model artifacts, with `{source}`.
    pub model_key: String,
    /// `LOG_GROUP_SOURCES`: log group patterns and the source of each
    /// (`/vpc/flow*=vpcflow,/nginx/*=access_log:nginx`, a custom flow log format as
    /// `PATTERN=vpcflow:${version} ${srcaddr} …`); empty means content sniffing only.
    pub log_group_sources: SourceMap,
    /// `MAX_PAYLOAD_BYTES`: the cap on one subscription payload's decompressed
    /// size (default 16 MiB, at most [`MAX_PAYLOAD_CEILING`]). `MAX_DECOMPRESSED_BYTES`
    /// caps objects, which this function does not read.
    pub max_payload_bytes: u64,
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
        if !model_key.contains("{source}") {
            env.problem(format!(
                "MODEL_KEY {model_key:?} must contain {{source}}: each source has its own model"
            ));
        }
        let log_group_sources = env.parse("LOG_GROUP_SOURCES", SourceMap::default(), |v| {
            SourceMap::parse(v).map_err(|e| e.to_string())
        });
        let max_payload_bytes =
            env.parse("MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES, |v| {
                match v.parse::<u64>() {
                    Ok(n) if (1..=MAX_PAYLOAD_CEILING).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "expected a number of bytes from 1 to {MAX_PAYLOAD_CEILING}: a payload is held in memory whole"
                    )),
                }
            });
        env.finish()?;
        Ok(Self {
            ingest,
            model_key,
            log_group_sources,
            max_payload_bytes,
        })
    }

    /// The key of one source's model.
    pub fn model_key_for(&self, source: &str) -> String {
        self.model_key.replace("{source}", source)
    }

    /// The pipeline settings this configuration implies.
    pub fn pipeline(&self) -> LogsConfig {
        let mut pipeline = self.ingest.pipeline();
        pipeline.limits.max_payload_bytes = self.max_payload_bytes;
        LogsConfig {
            pipeline,
            sources: self.log_group_sources.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;
    use trailhound_core::Severity;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("FINDINGS_TABLE", "findings"),
        (
            "ALERTS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        ),
        ("MODEL_BUCKET", "models"),
    ];

    #[test]
    fn defaults_fill_the_optional_variables() {
        let cfg = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(cfg.model_key_for("vpcflow"), "models/vpcflow/model.bin");
        assert_eq!(cfg.log_group_sources, SourceMap::default());
        assert_eq!(cfg.ingest.min_alert_severity, Severity::Medium);
        assert_eq!(cfg.ingest.max_decompressed_bytes, 536_870_912);
        assert_eq!(cfg.max_payload_bytes, 16 << 20);
        assert_eq!(cfg.ingest.model_refresh, Duration::from_secs(300));
        assert_eq!(cfg.ingest.finding_ttl_days, 90);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = Config::from_lookup(lookup(&[
            ("ALERTS_TOPIC_ARN", "alerts"),
            ("MODEL_KEY", "models/model.bin"),
            ("LOG_GROUP_SOURCES", "/vpc/*=netflow"),
            ("MIN_ALERT_SEVERITY", "severe"),
            ("MAX_DECOMPRESSED_BYTES", "0"),
            ("MAX_PAYLOAD_BYTES", "536870912"),
            ("MODEL_REFRESH_SECONDS", "soon"),
            ("FINDING_TTL_DAYS", "-1"),
        ]))
        .unwrap_err();
        let names = [
            "FINDINGS_TABLE",
            "MODEL_BUCKET",
            "ALERTS_TOPIC_ARN",
            "MODEL_KEY",
            "LOG_GROUP_SOURCES",
            "MIN_ALERT_SEVERITY",
            "MAX_DECOMPRESSED_BYTES",
            "MAX_PAYLOAD_BYTES",
            "MODEL_REFRESH_SECONDS",
            "FINDING_TTL_DAYS",
        ];
        assert_eq!(err.problems.len(), names.len(), "{err}");
        for name in names {
            assert!(err.to_string().contains(name), "{name} missing from {err}");
        }
    }

    /// Regression: the payload cap was the object cap (512 MiB, as template.yaml
    /// sets `MAX_DECOMPRESSED_BYTES`), so one 1 MB gzip bomb inflated to 540 MB of
    /// RSS in a 512 MB function before it was refused.
    #[test]
    fn the_payload_cap_fits_the_function_whatever_the_object_cap() {
        let mut vars = BASE.to_vec();
        vars.push(("MAX_DECOMPRESSED_BYTES", "536870912"));
        let limits = Config::from_lookup(lookup(&vars))
            .unwrap()
            .pipeline()
            .pipeline
            .limits;
        assert_eq!(limits.max_decompressed_bytes, 536_870_912);
        assert_eq!(limits.max_payload_bytes, 16 << 20);
        vars.push(("MAX_PAYLOAD_BYTES", "1048576"));
        let cfg = Config::from_lookup(lookup(&vars)).unwrap();
        assert_eq!(cfg.pipeline().pipeline.limits.max_payload_bytes, 1 << 20);
    }

    #[test]
    fn deduplication_suppressions_and_rules_reach_the_logs_pipeline() {
        let mut vars = BASE.to_vec();
        vars.push(("DEDUP_WINDOW_SECONDS", "600"));
        vars.push((
            "SUPPRESSIONS",
            "suppressions:\n  - detection: web.scanner_ua\n    principal: \"10.0.*\"\n    reason: our own vulnerability scanner\n",
        ));
        let cfg = Config::from_lookup(lookup(&vars)).unwrap();
        let logs = cfg.pipeline();
        assert_eq!(logs.pipeline.alert_policy.dedup_window_seconds, 600);
        assert_eq!(logs.pipeline.alert_policy.suppressions.entries().len(), 1);
        let rules = logs.pipeline.rules.unwrap();
        assert!(
            rules
                .rules()
                .iter()
                .any(|r| r.id == "ct.threshold.secrets_harvest"),
            "the built-in threshold rules are loaded for CloudTrail through CloudWatch Logs"
        );
    }
}
