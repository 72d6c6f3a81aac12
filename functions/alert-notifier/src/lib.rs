//! `alert-notifier`: receives trailhound's SNS alerts and posts them to Slack through an
//! incoming webhook whose URL is kept in SSM Parameter Store or Secrets Manager.
//!
//! `main.rs` only wires these parts together: [`config`] reads the environment,
//! [`secret`] fetches the webhook URL once, [`handler`] turns each SNS record into a
//! Block Kit message ([`slack`]) and posts it with retries ([`deliver`]).

// Tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod alert;
pub mod config;
pub mod deliver;
pub mod handler;
pub mod secret;
pub mod slack;

pub use config::{Config, WebhookSource};
pub use deliver::{RetryPolicy, SlackWebhook, WebhookUrl};
pub use handler::{Notifier, Outcome};
pub use secret::fetch_webhook_url;
