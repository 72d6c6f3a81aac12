//! trailhound's domain crate: log sources, features, models, rules, severity and the
//! one pipeline every entry point (Lambda or CLI) runs. It knows nothing of Lambda or
//! the AWS SDK; adapters of its ports live in `trailhound-aws` and the CLI.

pub mod alerting;
pub mod baseline;
pub mod decode;
pub mod eval;
pub mod features;
pub mod finding;
pub mod intern;
pub mod logs;
pub mod models;
pub mod pipeline;
pub mod ports;
pub mod rules;
pub mod score;
pub mod severity;
pub mod sources;
pub mod text;
pub mod timefmt;
pub mod walk;

pub use finding::{Detection, Finding, Triage};
pub use severity::Severity;
