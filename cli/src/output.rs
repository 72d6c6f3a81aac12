//! Printing findings: JSON lines (the public format) or a table for people.
//!
//! Log fields are attacker-influenced: the table shows them through
//! [`terminal_safe`] and JSON escapes DEL, C1 and bidi controls too (see
//! [`trailhound_core::text`]), so neither can drive the terminal. A reader that
//! goes away (`scan … | head -1`) is not an error: printing stops and the run
//! completes its stores.

use std::io::{self, Write};
use trailhound_core::Finding;
use trailhound_core::text::{terminal_safe, to_writer_json};

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
    closed: bool,
}

/// Whether an output error means the reader went away (a closed pipe).
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

impl<W: Write> Printer<W> {
    /// A printer on `out`.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            header_done: false,
            closed: false,
        }
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

    /// Prints one finding (nothing once the reader went away).
    pub fn print(&mut self, f: &Finding) -> io::Result<()> {
        if self.closed {
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
                    terminal_safe(f.reasons.first().map_or("", String::as_str))
                )
            }
        }
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
}
