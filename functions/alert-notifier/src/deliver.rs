//! Posts a message to the Slack incoming webhook, retrying what Slack asks us to retry.
//!
//! 429 waits as long as `Retry-After` says; 5xx and network errors back off
//! exponentially. Both stop after a bounded number of attempts and a bounded total wait
//! (kept well under the function timeout), and then the error is returned so that the
//! alert is retried by Lambda and finally kept in the notifier's failure queue. Other
//! 4xx answers (`invalid_payload`, `channel_is_archived`, …) are not retried here.
//!
//! The webhook URL is a credential: it is held in [`WebhookUrl`], whose `Debug` is
//! redacted, and every `reqwest` error is stripped of its URL before it is kept.

use reqwest::header::RETRY_AFTER;
use reqwest::{StatusCode, Url};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// The Slack webhook URL. Never printed: `Debug` shows only the host.
#[derive(Clone)]
pub struct WebhookUrl(Url);

/// Why a string is not an acceptable webhook URL. Carries no part of the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not a URL at all.
    #[error("webhook url is not a valid url")]
    Invalid,
    /// Plain `http` to a host other than loopback (tests use loopback servers).
    #[error("webhook url must use https")]
    NotHttps,
}

impl WebhookUrl {
    /// Accepts `https` URLs, and `http` only to a loopback host.
    pub fn parse(s: &str) -> Result<WebhookUrl, WebhookUrlError> {
        let url = Url::parse(s.trim()).map_err(|_| WebhookUrlError::Invalid)?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme() {
            "https" => Ok(WebhookUrl(url)),
            "http" if loopback => Ok(WebhookUrl(url)),
            "http" => Err(WebhookUrlError::NotHttps),
            _ => Err(WebhookUrlError::Invalid),
        }
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WebhookUrl({}/<redacted>)",
            self.0.host_str().unwrap_or("?")
        )
    }
}

/// How hard to try before giving the alert back to Lambda's retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First backoff after a 5xx or network error; doubles each time.
    pub base_delay: Duration,
    /// Cap of one backoff step (5xx and network errors).
    pub max_delay: Duration,
    /// Cap of all waits together; a `Retry-After` beyond it ends the attempts at once.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 0.5 s doubling to 8 s, 30 s of waiting at most: under the 60 s
    /// function timeout with room for the requests themselves (10 s timeout each is
    /// the worst case only when Slack hangs).
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(30),
        }
    }
}

/// Waits between attempts. Tests record the waits instead of sleeping.
pub trait Sleep: Send + Sync {
    /// Waits for `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
}

/// A delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Attempts it took (1 when the first post succeeded).
    pub attempts: u32,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Slack refused the message for good (4xx other than 429). NonRetryable here;
    /// still returned so the alert ends in the failure queue rather than vanishing.
    #[error("slack rejected the message with {status}: {body} (non-retryable)")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Slack's short error text (e.g. `invalid_payload`), cut to 200 characters.
        body: String,
    },
    /// Retryable failures until the attempts or the wait budget ran out.
    #[error("slack delivery failed after {attempts} attempts, last: {last} (retryable)")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure, without the URL.
        last: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the http client")]
    Client(#[source] reqwest::Error),
}

/// Posts messages to one Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackWebhook<S = TokioSleep> {
    http: reqwest::Client,
    url: WebhookUrl,
    policy: RetryPolicy,
    sleeper: S,
}

impl SlackWebhook<TokioSleep> {
    /// A client for `url` that sleeps on the real clock.
    pub fn new(url: WebhookUrl, policy: RetryPolicy) -> Result<Self, DeliveryError> {
        SlackWebhook::with_sleep(url, policy, TokioSleep)
    }
}

enum Attempt {
    Done,
    Refused {
        status: u16,
        body: String,
    },
    Retry {
        after: Option<Duration>,
        what: String,
    },
}

impl<S: Sleep> SlackWebhook<S> {
    /// A client for `url` that waits with `sleeper`.
    pub fn with_sleep(
        url: WebhookUrl,
        policy: RetryPolicy,
        sleeper: S,
    ) -> Result<Self, DeliveryError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            // A webhook never redirects; following one could send the alert elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeliveryError::Client(e.without_url()))?;
        Ok(SlackWebhook {
            http,
            url,
            policy,
            sleeper,
        })
    }

    /// Posts `message`, retrying 429, 5xx and network errors within the policy.
    pub async fn post(&self, message: &Value) -> Result<Delivered, DeliveryError> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (after, what) = match self.attempt(message).await {
                Attempt::Done => return Ok(Delivered { attempts: attempt }),
                Attempt::Refused { status, body } => {
                    return Err(DeliveryError::Rejected { status, body });
                }
                Attempt::Retry { after, what } => (after, what),
            };
            let delay = after.unwrap_or_else(|| self.backoff(attempt));
            if attempt >= self.policy.max_attempts || waited + delay > self.policy.max_total_wait {
                return Err(DeliveryError::GaveUp {
                    attempts: attempt,
                    last: what,
                });
            }
            tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, failure = %what, "slack post failed, retrying");
            self.sleeper.sleep(delay).await;
            waited += delay;
        }
    }

    async fn attempt(&self, message: &Value) -> Attempt {
        let response = match self
            .http
            .post(self.url.0.clone())
            .json(message)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    after: None,
                    what: e.without_url().to_string(),
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Done;
        }
        let after = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| retry_after(response.headers().get(RETRY_AFTER)))
            .flatten();
        let body = response.text().await.unwrap_or_default();
        let body: String = body.chars().take(200).collect();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Attempt::Retry {
                after,
                what: format!("{} {body}", status.as_u16()),
            }
        } else {
            Attempt::Refused {
                status: status.as_u16(),
                body,
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay)
    }
}

/// `Retry-After` in delta-seconds; an HTTP-date or garbage falls back to backoff.
fn retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_except_on_loopback() {
        assert!(WebhookUrl::parse("https://hooks.slack.com/services/T/B/x").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/hook").is_ok());
        assert_eq!(
            WebhookUrl::parse("http://example.com/x").unwrap_err(),
            WebhookUrlError::NotHttps
        );
        assert_eq!(
            WebhookUrl::parse("not a url").unwrap_err(),
            WebhookUrlError::Invalid
        );
        assert_eq!(
            WebhookUrl::parse("ftp://h/x").unwrap_err(),
            WebhookUrlError::Invalid
        );
    }

    #[test]
    fn webhook_url_debug_hides_the_secret_path() {
        let url = WebhookUrl::parse("https://hooks.slack.com/services/T0/B0/sekrit").unwrap();
        let shown = format!("{url:?}");
        assert!(shown.contains("hooks.slack.com"));
        assert!(!shown.contains("sekrit"), "{shown}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let hook = SlackWebhook::new(
            WebhookUrl::parse("https://h/x").unwrap(),
            RetryPolicy::default(),
        )
        .unwrap();
        let steps: Vec<u64> = (1..=7)
            .map(|a| hook.backoff(a).as_millis() as u64)
            .collect();
        assert_eq!(steps, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(hook.backoff(200), Duration::from_secs(8));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        use reqwest::header::HeaderValue;
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("7"))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static(
                "Wed, 21 Oct 2015 07:28:00 GMT"
            ))),
            None
        );
        assert_eq!(retry_after(None), None);
    }
}
