//! One simulated log line on its way to a subscription payload, the log streams
//! lines belong to, and the time spellings the log formats use.

use crate::ids::SimRng;
use crate::timefmt::civil;
use rand::Rng;
use std::fmt::Write;

/// A log stream of a log group.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    /// The log group, e.g. `/ecs/nginx-web`.
    pub group: String,
    /// The stream, e.g. `nginx/nginx/<task id>` or `eni-…-all`.
    pub name: String,
    /// Low bits of this stream's event ids.
    pub salt: u64,
}

/// One log event before delivery.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// The CloudWatch Logs timestamp, epoch milliseconds.
    pub ms: i64,
    /// Index of its stream.
    pub stream: u32,
    /// Tie-breaker among equal timestamps: unique per run.
    pub order: u64,
    /// The log line as the software wrote it.
    pub message: String,
    /// 1 for attack traffic.
    pub label: u8,
    /// Scenario name; empty for ordinary traffic.
    pub scenario: &'static str,
}

/// Collects the lines of one generator under one label.
pub(crate) struct Sink {
    pub lines: Vec<Line>,
    label: u8,
    scenario: &'static str,
    order: u64,
}

impl Sink {
    /// A sink whose lines carry `label`/`scenario` and orders from `unit << 32`.
    pub(crate) fn new(label: u8, scenario: &'static str, unit: u64) -> Self {
        Self {
            lines: Vec::new(),
            label,
            scenario,
            order: unit << 32,
        }
    }

    /// Adds a line.
    pub(crate) fn push(&mut self, ms: i64, stream: u32, message: String) {
        self.lines.push(Line {
            ms,
            stream,
            order: self.order,
            message,
            label: self.label,
            scenario: self.scenario,
        });
        self.order += 1;
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `04/Mar/2024:10:15:30 +0000`, the common log format time (nginx `$time_local` on
/// a UTC host, morgan `:date[clf]`).
pub(crate) fn clf(ms: i64, out: &mut String) {
    let c = civil(ms.div_euclid(1000));
    let month = MONTHS[(c.month as usize + 11) % 12];
    let _ = write!(
        out,
        "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day, c.year, c.hour, c.minute, c.second
    );
}

/// `2024-03-04T10:15:30.123Z`, JavaScript's `Date.toISOString()`.
pub(crate) fn iso_ms(ms: i64, out: &mut String) {
    let c = civil(ms.div_euclid(1000));
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        ms.rem_euclid(1000)
    );
}

/// Relative traffic by UTC hour for an audience centred on US Eastern time
/// (quiet at night, a lunch bump, the evening peak); the mean is 1.
pub(crate) fn diurnal(hour: u32) -> f64 {
    const LOCAL: [f64; 24] = [
        0.50, 0.35, 0.25, 0.20, 0.20, 0.30, 0.50, 0.80, 1.00, 1.20, 1.30, 1.40, 1.50, 1.40, 1.35,
        1.30, 1.30, 1.35, 1.50, 1.70, 1.80, 1.60, 1.20, 0.80,
    ];
    const MEAN: f64 = 24.8 / 24.0;
    LOCAL[(hour as usize + 19) % 24] / MEAN
}

/// A uniformly random millisecond offset below `span_ms`.
pub(crate) fn jitter(rng: &mut SimRng, span_ms: i64) -> i64 {
    if span_ms <= 0 {
        0
    } else {
        rng.random_range(0..span_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_clf_and_iso_times() {
        let ms = 1_709_547_330_123; // 2024-03-04T10:15:30.123Z
        let mut s = String::new();
        clf(ms, &mut s);
        assert_eq!(s, "04/Mar/2024:10:15:30 +0000");
        s.clear();
        iso_ms(ms, &mut s);
        assert_eq!(s, "2024-03-04T10:15:30.123Z");
    }

    #[test]
    fn diurnal_weights_average_one_and_peak_in_the_us_evening() {
        let mean: f64 = (0..24).map(diurnal).sum::<f64>() / 24.0;
        assert!((mean - 1.0).abs() < 1e-9, "{mean}");
        assert!(diurnal(1) > diurnal(9), "20:00 EST busier than 04:00 EST");
    }
}
