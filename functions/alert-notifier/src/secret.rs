//! Reads the Slack webhook URL once per cold start from SSM Parameter Store (with
//! decryption), or from Secrets Manager through SSM's `/aws/reference/secretsmanager/`
//! path. The value is never logged and no error message carries it.

use crate::config::WebhookSource;
use crate::deliver::{WebhookUrl, WebhookUrlError};
use aws_sdk_ssm::error::DisplayErrorContext;

/// Why the webhook URL could not be read. Messages name the parameter, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The SSM call failed (missing parameter, access denied, throttling).
    #[error("cannot read the slack webhook from {source_name}: {cause}")]
    Fetch {
        /// Parameter or secret name.
        source_name: String,
        /// The SDK error with its context, rendered once (the SDK error holds no value).
        cause: String,
    },
    /// The parameter exists but holds nothing.
    #[error("the slack webhook in {source_name} is empty")]
    Empty {
        /// Parameter or secret name.
        source_name: String,
    },
    /// The value is not an acceptable webhook URL.
    #[error("the slack webhook in {source_name} is unusable")]
    BadUrl {
        /// Parameter or secret name.
        source_name: String,
        /// What is wrong, without the value.
        #[source]
        source: WebhookUrlError,
    },
}

/// Fetches and checks the webhook URL.
pub async fn fetch_webhook_url(
    ssm: &aws_sdk_ssm::Client,
    source: &WebhookSource,
) -> Result<WebhookUrl, SecretError> {
    let source_name = source.to_string();
    let out = ssm
        .get_parameter()
        .name(source.parameter_name())
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| SecretError::Fetch {
            source_name: source_name.clone(),
            cause: DisplayErrorContext(&e).to_string(),
        })?;
    let value = out
        .parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| SecretError::Empty {
            source_name: source_name.clone(),
        })?;
    WebhookUrl::parse(&unwrap_secret_json(&value)).map_err(|source| SecretError::BadUrl {
        source_name,
        source,
    })
}

/// A Secrets Manager secret is often a JSON object; accept `{"url": …}` or
/// `{"webhook_url": …}` as well as the bare URL.
fn unwrap_secret_json(value: &str) -> String {
    let trimmed = value.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed)
    {
        for key in ["webhook_url", "url"] {
            if let Some(serde_json::Value::String(s)) = map.get(key) {
                return s.clone();
            }
        }
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bare_and_json_wrapped_secrets() {
        assert_eq!(unwrap_secret_json(" https://h/x \n"), "https://h/x");
        assert_eq!(
            unwrap_secret_json(r#"{"url":"https://h/y"}"#),
            "https://h/y"
        );
        assert_eq!(
            unwrap_secret_json(r#"{"webhook_url":"https://h/z","x":1}"#),
            "https://h/z"
        );
        assert_eq!(unwrap_secret_json("{not json"), "{not json");
    }
}
