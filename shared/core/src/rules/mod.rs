//! Detection rules: built-in checks for actions that are dangerous whatever a model
//! thinks of them (security-control tampering, persistence, data exposure).

pub mod builtin;

pub use builtin::{RuleDef, RuleInput, rule, rules};
