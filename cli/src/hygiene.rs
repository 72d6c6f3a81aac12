//! Alert hygiene options of `scan`, `eval` and `demo`: the deduplication window and
//! the suppression file.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use trailhound_core::alerting::{AlertPolicy, DEFAULT_DEDUP_WINDOW_SECONDS, Suppressions};

/// Deduplication and suppression flags.
#[derive(Debug, Clone, clap::Args)]
pub struct HygieneOpts {
    /// One alert per detection and principal in each window of this length
    /// (seconds, or with a unit: 30m, 1h, 1d); 0 turns deduplication off.
    #[arg(long, default_value_t = DEFAULT_DEDUP_WINDOW_SECONDS, value_parser = parse_duration, value_name = "DURATION")]
    pub dedup_window: u64,
    /// Suppression entries (YAML): findings they match are kept but not alerted.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
}

impl Default for HygieneOpts {
    fn default() -> Self {
        Self {
            dedup_window: DEFAULT_DEDUP_WINDOW_SECONDS,
            suppressions: None,
        }
    }
}

impl HygieneOpts {
    /// Reads and checks the suppression file (expired entries are reported on
    /// standard error and ignored) and builds the policy.
    pub fn policy(&self) -> Result<AlertPolicy> {
        let suppressions = match &self.suppressions {
            None => Suppressions::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read suppressions {}", path.display()))?;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let (s, warnings) =
                    Suppressions::from_yaml(&text, &path.display().to_string(), now)?;
                for w in warnings {
                    eprintln!("warning: {}", trailhound_core::text::terminal_safe(&w));
                }
                s
            }
        };
        Ok(AlertPolicy {
            dedup_window_seconds: self.dedup_window,
            suppressions: Arc::new(suppressions),
        })
    }
}

/// Parses `3600`, `90s`, `30m`, `1h` or `1d` into seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 3600, 30m, 1h, 1d)"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("`{s}` is too long a window"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_a_unit() {
        for (s, want) in [
            ("3600", Ok(3600)),
            ("0", Ok(0)),
            ("30m", Ok(1800)),
            ("1h", Ok(3600)),
            ("2d", Ok(172_800)),
            ("90s", Ok(90)),
        ] {
            assert_eq!(parse_duration(s), want, "{s}");
        }
        for bad in ["", "h", "1w", "-5", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

/// Alert volume after deduplication and suppression, as `eval` and `demo` report it.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct AlertVolume {
    /// Alerts that would go out (flagged, neither suppressed nor a repeat).
    pub alerts: u64,
    /// Of those, alerts on events labelled as attacks.
    pub alerts_on_attacks: u64,
    /// Of those, alerts on normal events (hard negatives included).
    pub false_alerts: u64,
    /// Flagged events held back by a suppression entry.
    pub suppressed: u64,
    /// Flagged events held back as repeats within a deduplication window.
    pub deduplicated: u64,
    /// Days with events.
    pub days: u64,
    /// `alerts / days`.
    pub alerts_per_day: f64,
    /// `false_alerts / days`.
    pub false_alerts_per_day: f64,
    /// Alerts by UTC date.
    pub per_day: std::collections::BTreeMap<String, u64>,
    /// Alerts by labelled scenario (attacks and hard negatives).
    pub per_scenario: std::collections::BTreeMap<String, u64>,
    #[serde(skip)]
    dates: std::collections::BTreeSet<String>,
    /// Findings already counted (log sources repeat a window's finding per event).
    #[serde(skip)]
    counted: std::collections::HashSet<String>,
}

impl AlertVolume {
    /// Counts one scored event (every event, with `--all`), given whether it is
    /// flagged at the alert severity and its label.
    pub fn add(
        &mut self,
        f: &trailhound_core::Finding,
        flagged: bool,
        attack: bool,
        scenario: &str,
    ) {
        let date = f.time.get(..10).unwrap_or("");
        if !self.dates.contains(date) {
            self.dates.insert(date.to_owned());
        }
        if !flagged || !self.counted.insert(f.finding_id.clone()) {
            return;
        }
        if f.triage.suppressed_by.is_some() {
            self.suppressed += 1;
            return;
        }
        if f.triage.duplicate_of.is_some() {
            self.deduplicated += 1;
            return;
        }
        self.alerts += 1;
        if attack {
            self.alerts_on_attacks += 1;
        } else {
            self.false_alerts += 1;
        }
        *self.per_day.entry(date.to_owned()).or_insert(0) += 1;
        if !scenario.is_empty() {
            *self.per_scenario.entry(scenario.to_owned()).or_insert(0) += 1;
        }
    }

    /// Computes the per-day rates once every event was added.
    pub fn finish(&mut self) {
        self.days = self.dates.len() as u64;
        let days = self.days.max(1) as f64;
        self.alerts_per_day = self.alerts as f64 / days;
        self.false_alerts_per_day = self.false_alerts as f64 / days;
    }

    /// Prints the volume as a short table.
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "Alerts after deduplication and suppression")?;
        writeln!(
            out,
            "  alerts      {:>10}   on attacks {:>6}   on normal events {:>6}",
            self.alerts, self.alerts_on_attacks, self.false_alerts
        )?;
        writeln!(
            out,
            "  per day     {:>10.1}   false alerts per day {:>6.1}   ({} days)",
            self.alerts_per_day, self.false_alerts_per_day, self.days
        )?;
        writeln!(
            out,
            "  held back   {:>10} repeats in a window, {} suppressed",
            self.deduplicated, self.suppressed
        )?;
        let days: Vec<String> = self
            .per_day
            .iter()
            .map(|(d, n)| format!("{} {n}", d.get(5..).unwrap_or(d)))
            .collect();
        writeln!(out, "  by day      {}", days.join(", "))?;
        let scenarios: Vec<String> = self
            .per_scenario
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        if !scenarios.is_empty() {
            let scenarios = scenarios.join(", ");
            writeln!(
                out,
                "  by scenario {}",
                trailhound_core::text::terminal_safe(&scenarios)
            )?;
        }
        Ok(())
    }
}
