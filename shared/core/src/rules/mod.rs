//! Detection rules: built-in checks for actions that are dangerous whatever a model
//! thinks of them (security-control tampering, persistence, data exposure), Sigma
//! rules (user-written and the built-in threshold rules), and the rule self-tests.

pub mod builtin;
pub mod check;
pub mod sigma;

pub use builtin::{RuleDef, RuleInput, rule, rules};
