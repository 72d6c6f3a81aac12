//! The severity scale shared by every source: four named levels over a numeric
//! 1.0–10.0 score, laid out like GuardDuty's so analysts read it the same way.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A named severity level. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 1.0–3.9: worth a look when someone has time.
    Low,
    /// 4.0–6.9: should be triaged today.
    Medium,
    /// 7.0–8.9: likely compromise or dangerous change; act now.
    High,
    /// 9.0–10.0: active attack or loss of visibility.
    Critical,
}

impl Severity {
    /// All levels, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The level a numeric severity score falls into; `None` below 1.0.
    pub fn from_score(score: f64) -> Option<Severity> {
        match score {
            s if s >= 9.0 => Some(Severity::Critical),
            s if s >= 7.0 => Some(Severity::High),
            s if s >= 4.0 => Some(Severity::Medium),
            s if s >= 1.0 => Some(Severity::Low),
            _ => None,
        }
    }

    /// The lowest numeric score of this level.
    pub fn floor(self) -> f64 {
        match self {
            Severity::Low => 1.0,
            Severity::Medium => 4.0,
            Severity::High => 7.0,
            Severity::Critical => 9.0,
        }
    }

    /// Lower-case name, as in findings and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Upper-case name, as in SNS message attributes and alert subjects.
    pub fn as_upper(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of `low`, `medium`, `high`, `critical`.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?}: expected low, medium, high or critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_map_to_guardduty_bands() {
        let cases = [
            (0.5, None),
            (1.0, Some(Severity::Low)),
            (3.9, Some(Severity::Low)),
            (4.0, Some(Severity::Medium)),
            (6.99, Some(Severity::Medium)),
            (7.0, Some(Severity::High)),
            (8.9, Some(Severity::High)),
            (9.0, Some(Severity::Critical)),
            (10.0, Some(Severity::Critical)),
        ];
        for (score, want) in cases {
            assert_eq!(Severity::from_score(score), want, "score {score}");
        }
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("HIGH".parse::<Severity>().ok(), Some(Severity::High));
        assert_eq!("low".parse::<Severity>().ok(), Some(Severity::Low));
        assert!("severe".parse::<Severity>().is_err());
    }
}
