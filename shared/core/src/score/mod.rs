//! Scoring: model scores, rule hits and calibration combined into one severity per
//! event, with the reasons that produced it.

pub mod access_log;
pub mod cloudtrail;
mod explain;
pub mod net;
pub mod vpcflow;

/// Severity bump when a rule fires and the model also finds the event unusual.
pub const AGREEMENT_BONUS: f64 = 1.0;
/// Severity removed from a rule hit whose call failed (the attempt still matters).
pub const FAILED_CALL_PENALTY: f64 = 3.0;

/// Combines a rule's severity and the model's into one, in 1.0–10.0, or `None`.
pub fn combine(rule: Option<f64>, model: Option<f64>) -> Option<f64> {
    let s = match (rule, model) {
        (None, None) => return None,
        (Some(r), None) => r,
        (None, Some(m)) => m,
        (Some(r), Some(m)) if m >= 4.0 && r >= 4.0 => r.max(m) + AGREEMENT_BONUS,
        (Some(r), Some(m)) => r.max(m),
    };
    Some((s.clamp(1.0, 10.0) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_rules_and_model() {
        assert_eq!(combine(None, None), None);
        assert_eq!(combine(Some(9.2), None), Some(9.2));
        assert_eq!(combine(None, Some(4.44)), Some(4.4));
        assert_eq!(combine(Some(7.5), Some(4.5)), Some(8.5));
        assert_eq!(combine(Some(7.5), Some(2.0)), Some(7.5));
        assert_eq!(combine(Some(3.5), Some(4.5)), Some(4.5));
        assert_eq!(combine(Some(9.5), Some(6.0)), Some(10.0));
    }
}
