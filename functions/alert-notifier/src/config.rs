//! The notifier's configuration, read once from the environment at cold start.
//!
//! Two stages, so an operator sees every problem in one log line: [`RawConfig`] collects
//! the strings, [`RawConfig::validate`] turns them into a [`Config`] or lists every
//! missing or invalid variable at once.

use std::fmt;

/// Name of the SSM parameter (SecureString) that holds the webhook URL.
pub const SLACK_WEBHOOK_PARAMETER: &str = "SLACK_WEBHOOK_PARAMETER";
/// ARN or name of a Secrets Manager secret that holds the webhook URL.
pub const SLACK_WEBHOOK_SECRET_ARN: &str = "SLACK_WEBHOOK_SECRET_ARN";
/// Region used in console links when a finding carries none, or to force one.
pub const CONSOLE_REGION: &str = "CONSOLE_REGION";

/// Where the Slack webhook URL is kept. Both are read through SSM `GetParameter`:
/// Secrets Manager secrets are reachable under `/aws/reference/secretsmanager/`, which
/// saves a second SDK client in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookSource {
    /// An SSM Parameter Store parameter, normally a SecureString.
    SsmParameter(String),
    /// A Secrets Manager secret (ARN or name).
    SecretsManager(String),
}

impl WebhookSource {
    /// The name to pass to SSM `GetParameter` for this source.
    pub fn parameter_name(&self) -> String {
        match self {
            WebhookSource::SsmParameter(name) => name.clone(),
            WebhookSource::SecretsManager(id) => format!("/aws/reference/secretsmanager/{id}"),
        }
    }
}

/// The validated configuration of the notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the webhook URL is read from.
    pub webhook: WebhookSource,
    /// Region for console links that overrides the finding's own region.
    pub console_region: Option<String>,
}

/// The configuration as raw strings, before validation.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    /// `SLACK_WEBHOOK_PARAMETER`.
    pub webhook_parameter: Option<String>,
    /// `SLACK_WEBHOOK_SECRET_ARN`.
    pub webhook_secret_arn: Option<String>,
    /// `CONSOLE_REGION`.
    pub console_region: Option<String>,
}

/// Every problem found in the environment, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    /// One sentence per missing or invalid variable.
    pub problems: Vec<String>,
}

impl RawConfig {
    /// Collects the variables from `(name, value)` pairs; empty values count as unset.
    pub fn from_vars<I, K, V>(vars: I) -> RawConfig
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut raw = RawConfig::default();
        for (key, value) in vars {
            let value: String = value.into();
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            match key.as_ref() {
                SLACK_WEBHOOK_PARAMETER => raw.webhook_parameter = Some(value),
                SLACK_WEBHOOK_SECRET_ARN => raw.webhook_secret_arn = Some(value),
                CONSOLE_REGION => raw.console_region = Some(value),
                _ => {}
            }
        }
        raw
    }

    /// Checks every variable and returns the config, or all problems at once.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let webhook = match (self.webhook_parameter, self.webhook_secret_arn) {
            (Some(name), None) => Some(WebhookSource::SsmParameter(name)),
            (None, Some(arn)) => Some(WebhookSource::SecretsManager(arn)),
            (None, None) => {
                problems.push(format!(
                    "set {SLACK_WEBHOOK_PARAMETER} (SSM parameter name) or {SLACK_WEBHOOK_SECRET_ARN}"
                ));
                None
            }
            (Some(_), Some(_)) => {
                problems.push(format!(
                    "set only one of {SLACK_WEBHOOK_PARAMETER} and {SLACK_WEBHOOK_SECRET_ARN}"
                ));
                None
            }
        };
        if let Some(region) = &self.console_region
            && !is_region_name(region)
        {
            problems.push(format!(
                "{CONSOLE_REGION} must look like a region name such as us-east-1, got {region:?}"
            ));
        }
        match webhook {
            Some(webhook) if problems.is_empty() => Ok(Config {
                webhook,
                console_region: self.console_region,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        RawConfig::from_vars(std::env::vars()).validate()
    }
}

impl fmt::Display for WebhookSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookSource::SsmParameter(name) => write!(f, "ssm parameter {name}"),
            WebhookSource::SecretsManager(id) => write!(f, "secret {id}"),
        }
    }
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: lower-case words and a number,
/// joined by dashes. Guards the link we build, not AWS's exact list.
pub(crate) fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        RawConfig::from_vars(vars.iter().map(|(k, v)| (*k, v.to_string()))).validate()
    }

    #[test]
    fn reads_ssm_parameter_source() {
        let c = config(&[(SLACK_WEBHOOK_PARAMETER, "/trailhound/slack")]).unwrap();
        assert_eq!(
            c.webhook,
            WebhookSource::SsmParameter("/trailhound/slack".into())
        );
        assert_eq!(c.webhook.parameter_name(), "/trailhound/slack");
        assert_eq!(c.console_region, None);
    }

    #[test]
    fn secrets_manager_source_reads_through_the_ssm_reference_path() {
        let c = config(&[(SLACK_WEBHOOK_SECRET_ARN, "trailhound/slack")]).unwrap();
        assert_eq!(
            c.webhook.parameter_name(),
            "/aws/reference/secretsmanager/trailhound/slack"
        );
    }

    #[test]
    fn lists_every_problem_at_once() {
        let err = config(&[(CONSOLE_REGION, "Mars")]).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.to_string().contains(SLACK_WEBHOOK_PARAMETER));
        assert!(err.to_string().contains(CONSOLE_REGION));
    }

    #[test]
    fn refuses_two_webhook_sources() {
        let err = config(&[
            (SLACK_WEBHOOK_PARAMETER, "/a"),
            (SLACK_WEBHOOK_SECRET_ARN, "b"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("only one"), "{err}");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = config(&[
            (SLACK_WEBHOOK_PARAMETER, "/a"),
            (SLACK_WEBHOOK_SECRET_ARN, " "),
        ])
        .unwrap();
        assert_eq!(c.webhook, WebhookSource::SsmParameter("/a".into()));
    }

    #[test]
    fn recognises_region_names() {
        for (s, ok) in [
            ("us-east-1", true),
            ("ap-southeast-2", true),
            ("us-gov-west-1", true),
            ("us-east", false),
            ("US-EAST-1", false),
            ("us-east-1/evil", false),
        ] {
            assert_eq!(is_region_name(s), ok, "{s}");
        }
    }
}
