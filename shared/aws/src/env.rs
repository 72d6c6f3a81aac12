//! What the ingest functions share in their configuration: reading the environment
//! so that one error lists every missing or invalid variable, and the variables both
//! `cloudtrail-ingest` and `logs-ingest` take (table, topic, model bucket, alerting,
//! limits, deduplication, suppressions, Sigma rules).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailhound_core::Severity;
use trailhound_core::alerting::{AlertPolicy, DEFAULT_DEDUP_WINDOW_SECONDS, Suppressions};
use trailhound_core::decode::{DEFAULT_MAX_DECOMPRESSED_BYTES, Limits};
use trailhound_core::pipeline::PipelineConfig;
use trailhound_core::rules::sigma::RuleSet;

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

/// Reads variables through a lookup (the process environment, or a map in tests),
/// trimming them and treating empty values as unset, and collects problems instead
/// of stopping at the first.
pub struct EnvReader<G> {
    get: G,
    problems: Vec<String>,
}

impl<G: Fn(&str) -> Option<String>> EnvReader<G> {
    /// A reader over `get`.
    pub fn new(get: G) -> Self {
        Self {
            get,
            problems: Vec::new(),
        }
    }

    /// The variable's trimmed value, `None` when unset or empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The variable's value; a problem when unset.
    pub fn required(&mut self, name: &str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.problems.push(format!("{name} is not set"));
            String::new()
        })
    }

    /// The variable parsed by `f`, or `default` when unset; a problem naming the
    /// variable and value when `f` refuses it.
    pub fn parse<T>(&mut self, name: &str, default: T, f: impl Fn(&str) -> Result<T, String>) -> T {
        match self.optional(name) {
            None => default,
            Some(v) => f(&v).unwrap_or_else(|why| {
                self.problems.push(format!("{name} {v:?}: {why}"));
                default
            }),
        }
    }

    /// Records a problem found by the caller.
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Ends reading: `Err` listing every problem, if any.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
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

/// The variables every ingest function reads.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestConfig {
    /// `FINDINGS_TABLE`: the DynamoDB table of findings and summaries.
    pub findings_table: String,
    /// `ALERTS_TOPIC_ARN`: the SNS topic alerts go to.
    pub alerts_topic_arn: String,
    /// `MODEL_BUCKET`: the bucket holding the model artifacts.
    pub model_bucket: String,
    /// `MODEL_SIGNING_KEY_PARAMETER`: the SSM SecureString holding the model signing
    /// key. Unset: every model in S3 is refused and scoring runs on rules only.
    pub model_signing_key_parameter: Option<String>,
    /// `MIN_ALERT_SEVERITY`: alerts go out at or above this severity.
    pub min_alert_severity: Severity,
    /// `MAX_DECOMPRESSED_BYTES`: the cap on one object's or payload's decompressed size.
    pub max_decompressed_bytes: u64,
    /// `MODEL_REFRESH_SECONDS`: how often a model's ETag is revalidated.
    pub model_refresh: Duration,
    /// `FINDING_TTL_DAYS`: how long findings and summaries are kept.
    pub finding_ttl_days: u32,
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

impl IngestConfig {
    /// Reads the shared variables; problems go to `env`.
    pub fn read<G: Fn(&str) -> Option<String>>(env: &mut EnvReader<G>) -> Self {
        let findings_table = env.required("FINDINGS_TABLE");
        let alerts_topic_arn = env.required("ALERTS_TOPIC_ARN");
        let model_bucket = env.required("MODEL_BUCKET");
        let model_signing_key_parameter = env.optional("MODEL_SIGNING_KEY_PARAMETER");
        if !alerts_topic_arn.is_empty() && !alerts_topic_arn.starts_with("arn:") {
            env.problem(format!(
                "ALERTS_TOPIC_ARN {alerts_topic_arn:?} is not an ARN"
            ));
        }
        let min_alert_severity = env.parse("MIN_ALERT_SEVERITY", Severity::Medium, |v| {
            v.parse::<Severity>().map_err(|e| e.to_string())
        });
        let max_decompressed_bytes = env.parse(
            "MAX_DECOMPRESSED_BYTES",
            DEFAULT_MAX_DECOMPRESSED_BYTES,
            |v| match v.parse::<u64>() {
                Ok(0) | Err(_) => Err("expected a positive number of bytes".to_owned()),
                Ok(n) => Ok(n),
            },
        );
        let refresh = env.parse("MODEL_REFRESH_SECONDS", 300, |v| {
            v.parse::<u64>()
                .map_err(|_| "expected a whole number of seconds".to_owned())
        });
        let finding_ttl_days = env.parse("FINDING_TTL_DAYS", 90, |v| match v.parse::<u32>() {
            Ok(0) | Err(_) => Err("expected a positive number of days".to_owned()),
            Ok(n) => Ok(n),
        });
        let dedup_window_seconds =
            env.parse("DEDUP_WINDOW_SECONDS", DEFAULT_DEDUP_WINDOW_SECONDS, |v| {
                v.parse::<u64>()
                    .map_err(|_| "expected a whole number of seconds (0: off)".to_owned())
            });
        let suppressions = suppressions(env);
        let rules = rules(env);
        Self {
            findings_table,
            alerts_topic_arn,
            model_bucket,
            model_signing_key_parameter,
            min_alert_severity,
            max_decompressed_bytes,
            model_refresh: Duration::from_secs(refresh),
            finding_ttl_days,
            dedup_window_seconds,
            suppressions,
            rules,
        }
    }

    /// The pipeline settings these variables imply (the function adds its own).
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            limits: Limits {
                max_decompressed_bytes: self.max_decompressed_bytes,
                ..Limits::default()
            },
            min_alert_severity: self.min_alert_severity,
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
fn suppressions<G: Fn(&str) -> Option<String>>(env: &mut EnvReader<G>) -> Suppressions {
    let (text, origin) = match (
        env.optional("SUPPRESSIONS"),
        env.optional("SUPPRESSIONS_FILE"),
    ) {
        (None, None) => return Suppressions::default(),
        (Some(_), Some(_)) => {
            env.problem("SUPPRESSIONS and SUPPRESSIONS_FILE are both set; use one".to_owned());
            return Suppressions::default();
        }
        (Some(inline), None) => (inline, "SUPPRESSIONS".to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => (text, format!("SUPPRESSIONS_FILE {path}")),
            Err(e) => {
                env.problem(format!("SUPPRESSIONS_FILE {path:?}: cannot read it: {e}"));
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
            env.problem(e.to_string());
            Suppressions::default()
        }
    }
}

/// Loads the built-in threshold rules and `RULES_DIR`'s. A missing directory is a
/// problem; a rule file that does not load is logged and skipped, the rest load.
fn rules<G: Fn(&str) -> Option<String>>(env: &mut EnvReader<G>) -> LoadedRules {
    let mut builder = RuleSet::builder().builtin();
    if let Some(dir) = env.optional("RULES_DIR") {
        let path = Path::new(&dir);
        if path.is_dir() {
            builder = builder.dir(path);
        } else {
            env.problem(format!("RULES_DIR {dir:?}: not a directory"));
        }
    }
    let (set, errors) = builder.build();
    for e in errors {
        tracing::error!(file = %e.file, reason = %e.reason, "Sigma rule not loaded");
    }
    LoadedRules(Arc::new(set))
}
