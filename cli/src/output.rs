//! Printing findings: JSON lines (the public format) or a table for people.
//!
//! Log fields are attacker-influenced: the table shows them through
//! [`terminal_safe`] and JSON escapes DEL, C1 and bidi controls too (see
//! [`trailhound_core::text`]), so neither can drive the terminal. A reader that
//! goes away (`scan … | head -1`) is not an error: printing stops and the run
//! completes its stores.
//!
//! The printer also counts findings per severity (shown or hidden by
//! `--min-severity`) for the closing summary, and, sorted by severity, keeps the
//! findings it shows until [`Printer::finish`] so that the worst come first.

use std::io::{self, Write};
use trailhound_core::text::{terminal_safe, to_writer_json};
use trailhound_core::{Finding, Severity};

/// Output format of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line, keys as in the README.
    Jsonl,
    /// An aligned table.
    Table,
}

/// Order of the printed findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sort {
    /// Highest severity score first (then anomaly score, then time): printed once
    /// the scan is done.
    Severity,
    /// As read (file order, which is time order within a trail): printed as found.
    Time,
}

/// Writes findings in a format.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    /// Findings below this are counted, not printed (`None`: print everything).
    min_severity: Option<Severity>,
    /// Findings kept until [`Printer::finish`] when sorting by severity.
    held: Option<Vec<Finding>>,
    counts: SeverityCounts,
    header_done: bool,
    closed: bool,
}

/// Findings per severity level: shown and hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    /// Per level (`Severity::ALL` order: low, medium, high, critical): printed.
    pub shown: [u64; 4],
    /// Per level: below `--min-severity`, not printed.
    pub hidden: [u64; 4],
}

impl SeverityCounts {
    /// One line per scan: `critical 3 · high 12 · medium 40 · low 1,228 (hidden:
    /// --min-severity low to show)`, worst first; levels with no finding left out.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        let mut lowest_hidden = None;
        for (i, s) in Severity::ALL.iter().enumerate().rev() {
            let n = self.shown[i] + self.hidden[i];
            if n == 0 {
                continue;
            }
            if self.hidden[i] > 0 {
                lowest_hidden = Some(*s);
            }
            parts.push(format!("{s} {}", thousands(n)));
        }
        if parts.is_empty() {
            return "no findings".to_owned();
        }
        let mut line = parts.join(" · ");
        if let Some(s) = lowest_hidden {
            let hidden: u64 = self.hidden.iter().sum();
            line.push_str(&format!(
                " ({} hidden: --min-severity {s} to show)",
                thousands(hidden)
            ));
        }
        line
    }
}

/// `1228` as `1,228`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether an output error means the reader went away (a closed pipe).
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

impl<W: Write> Printer<W> {
    /// A printer on `out` that prints everything it is given, as given.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            min_severity: None,
            held: None,
            counts: SeverityCounts::default(),
            header_done: false,
            closed: false,
        }
    }

    /// Prints only findings at or above `min` (the others are counted).
    pub fn min_severity(mut self, min: Option<Severity>) -> Self {
        self.min_severity = min;
        self
    }

    /// Prints in this order.
    pub fn sort(mut self, sort: Sort) -> Self {
        self.held = (sort == Sort::Severity).then(Vec::new);
        self
    }

    /// The findings counted so far.
    pub fn counts(&self) -> SeverityCounts {
        self.counts
    }

    /// Turns a closed pipe into "stop printing"; other errors stay errors.
    fn absorb_closed(&mut self, r: io::Result<()>) -> io::Result<()> {
        match r {
            Err(e) if is_closed_pipe(&e) => {
                tracing::debug!("standard output closed: printing stops");
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }

    /// Counts one finding and prints it (now, or at [`Printer::finish`] when
    /// sorting by severity) unless it is below the minimum severity or the reader
    /// went away.
    pub fn print(&mut self, f: &Finding) -> io::Result<()> {
        let shown = match (f.severity, self.min_severity) {
            (Some(s), Some(min)) => s >= min,
            (None, Some(_)) => false,
            (_, None) => true,
        };
        if let Some(s) = f.severity {
            let slot = if shown {
                &mut self.counts.shown
            } else {
                &mut self.counts.hidden
            };
            slot[s as usize] += 1;
        }
        if !shown || self.closed {
            return Ok(());
        }
        if let Some(held) = &mut self.held {
            held.push(f.clone());
            return Ok(());
        }
        let r = self.write(f);
        self.absorb_closed(r)
    }

    fn write(&mut self, f: &Finding) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                to_writer_json(&mut self.out, f)?;
                self.out.write_all(b"\n")
            }
            Format::Table => {
                if !self.header_done {
                    self.header_done = true;
                    writeln!(
                        self.out,
                        "{:<8} {:>4} {:>6}  {:<20}  {:<28} {:<40} REASON",
                        "SEVERITY", "SEV", "SCORE", "TIME", "PRINCIPAL", "ACTION"
                    )?;
                }
                writeln!(
                    self.out,
                    "{:<8} {:>4.1} {:>6.3}  {:<20}  {:<28} {:<40} {}",
                    f.severity.map_or("-", |s| s.as_str()),
                    f.severity_score,
                    f.score,
                    terminal_safe(&f.time),
                    clip(&terminal_safe(short_principal(&f.principal)), 28),
                    clip(&terminal_safe(&f.action), 40),
                    terminal_safe(telling_reason(f))
                )
            }
        }
    }

    /// Prints the findings held for sorting, then flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(mut held) = self.held.take() {
            sort_by_severity(&mut held);
            for f in &held {
                if self.closed {
                    break;
                }
                let r = self.write(f);
                self.absorb_closed(r)?;
            }
        }
        self.flush()
    }

    /// Writes a line after the findings (nothing once the reader went away).
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = writeln!(self.out, "{text}");
        self.absorb_closed(r)
    }

    /// Flushes (nothing once the reader went away).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.out.flush();
        self.absorb_closed(r)
    }
}

/// Worst first: severity score, then anomaly score, then earliest.
pub fn sort_by_severity(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity_score
            .total_cmp(&a.severity_score)
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.time.cmp(&b.time))
    });
}

/// The reason a person reads first: a rule's or a feature's sentence rather than a
/// detector's calibration ("isolation forest: only 0.3% of training events…"),
/// which says how unusual, not why.
pub fn telling_reason(f: &Finding) -> &str {
    const DETECTOR_SENTENCES: [&str; 5] = [
        "isolation forest:",
        "PCA reconstruction error:",
        "feature histograms:",
        "only one of the detectors",
        "a source that sent as much",
    ];
    f.reasons
        .iter()
        .find(|r| !DETECTOR_SENTENCES.iter().any(|d| r.starts_with(d)))
        .or(f.reasons.first())
        .map_or("", String::as_str)
}

pub use trailhound_core::finding::short_principal;

/// At most `n` characters.
pub fn clip(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A writer whose reader went away after `room` bytes.
    struct Pipe {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn finding(principal: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "finding_id": "f1", "event_id": "e1", "source": "cloudtrail",
            "time": "2024-03-04T10:15:30Z", "account": "123456789012",
            "region": "us-east-1", "principal": principal, "action": "StopLogging",
            "score": 0.9, "severity": "critical", "severity_score": 9.2,
            "detections": [], "reasons": ["logging stopped \u{1b}[31m"],
            "model_version": ""
        }))
        .unwrap()
    }

    #[test]
    fn a_closed_pipe_stops_printing_without_an_error() {
        let mut p = Printer::new(
            Pipe {
                room: 10,
                written: Vec::new(),
            },
            Format::Jsonl,
        );
        p.print(&finding("arn:aws:iam::123456789012:user/alice"))
            .unwrap();
        assert!(p.closed);
        p.print(&finding("x")).unwrap();
        p.flush().unwrap();
        assert_eq!(p.out.written.len(), 10);
    }

    #[test]
    fn other_output_errors_stay_errors() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut p = Printer::new(Full, Format::Table);
        assert!(p.print(&finding("x")).is_err());
        assert!(!p.closed);
    }

    #[test]
    fn the_table_shows_escapes_as_text() {
        let mut p = Printer::new(Vec::new(), Format::Table);
        p.print(&finding("arn:aws:iam::1:user/\u{1b}]0;t\u{7}\u{202e}x"))
            .unwrap();
        let text = String::from_utf8(p.out).unwrap();
        assert!(text.contains("\\x1b]0;t\\x07\\u{202e}x"), "{text}");
        assert!(text.contains("logging stopped \\x1b[31m"), "{text}");
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{text}");
    }

    fn with(severity: Option<&str>, score: f64, time: &str, reasons: &[&str]) -> Finding {
        let mut f = finding("arn:aws:iam::123456789012:user/alice");
        f.severity = severity.map(|s| s.parse().unwrap());
        f.severity_score = score;
        f.time = time.to_owned();
        f.reasons = reasons.iter().map(|r| (*r).to_owned()).collect();
        f
    }

    #[test]
    fn the_table_sorted_by_severity_shows_the_worst_first_and_hides_below_the_minimum() {
        let mut p = Printer::new(Vec::new(), Format::Table)
            .min_severity(Some(Severity::Medium))
            .sort(Sort::Severity);
        for f in [
            with(Some("low"), 2.0, "2024-03-04T10:00:00Z", &["low one"]),
            with(Some("medium"), 5.0, "2024-03-04T10:01:00Z", &["medium one"]),
            with(
                Some("critical"),
                9.5,
                "2024-03-04T10:02:00Z",
                &["critical one"],
            ),
            with(Some("low"), 1.5, "2024-03-04T10:03:00Z", &["low two"]),
            with(None, 0.0, "2024-03-04T10:04:00Z", &[]),
        ] {
            p.print(&f).unwrap();
        }
        assert!(p.out.is_empty(), "nothing printed before finish");
        p.finish().unwrap();
        let text = String::from_utf8(p.out.clone()).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows[0].starts_with("SEVERITY"), "{text}");
        assert!(rows[1].starts_with("critical"), "{text}");
        assert!(rows[2].starts_with("medium"), "{text}");
        assert!(!text.contains("low"), "{text}");
        assert_eq!(
            p.counts().line(),
            "critical 1 · medium 1 · low 2 (2 hidden: --min-severity low to show)"
        );
        assert_eq!(p.counts().hidden, [2, 0, 0, 0]);
    }

    #[test]
    fn sorted_by_time_findings_print_as_they_come() {
        let mut p = Printer::new(Vec::new(), Format::Jsonl).sort(Sort::Time);
        p.print(&with(Some("low"), 2.0, "t1", &[])).unwrap();
        assert!(!p.out.is_empty(), "streamed");
        p.print(&with(Some("critical"), 9.5, "t2", &[])).unwrap();
        p.finish().unwrap();
        let text = String::from_utf8(p.out.clone()).unwrap();
        let times: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["time"].to_string())
            .collect();
        assert_eq!(times, ["\"t1\"", "\"t2\""]);
        assert_eq!(p.counts().line(), "critical 1 · low 1");
    }

    #[test]
    fn the_table_reason_is_a_rule_or_feature_sentence_not_a_detector_calibration() {
        let f = with(
            Some("high"),
            8.0,
            "t",
            &[
                "isolation forest: only 0.3% of training events scored as high",
                "first `ListSecrets` by this principal",
            ],
        );
        assert_eq!(telling_reason(&f), "first `ListSecrets` by this principal");
        let only = with(Some("low"), 2.0, "t", &["feature histograms: rare"]);
        assert_eq!(telling_reason(&only), "feature histograms: rare");
    }

    #[test]
    fn counts_have_thousands_separators_and_an_empty_scan_says_so() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1228), "1,228");
        assert_eq!(thousands(70_267), "70,267");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(SeverityCounts::default().line(), "no findings");
    }
}
