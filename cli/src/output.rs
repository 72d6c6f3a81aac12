//! Printing findings: JSON lines (the public format) or a table for people.

use std::io::{self, Write};
use trailhound_core::Finding;

/// Output format of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line, keys as in the README.
    Jsonl,
    /// An aligned table.
    Table,
}

/// Writes findings in a format.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    header_done: bool,
}

impl<W: Write> Printer<W> {
    /// A printer on `out`.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            header_done: false,
        }
    }

    /// Prints one finding.
    pub fn print(&mut self, f: &Finding) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, f)?;
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
                    f.time,
                    clip(short_principal(&f.principal), 28),
                    clip(&f.action, 40),
                    f.reasons.first().map_or("", String::as_str)
                )
            }
        }
    }

    /// Flushes.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub use trailhound_core::finding::short_principal;

/// At most `n` characters.
pub fn clip(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
