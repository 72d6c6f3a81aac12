//! Splits a CloudTrail log file (`{"Records":[{...},{...}]}`) into the raw bytes of
//! each record without parsing the whole document, so that records can be parsed
//! one at a time into borrowed structs and memory stays bounded by the largest
//! record, whatever the size of the file.
//!
//! What must stay true: every step either consumes at least one byte or fails, so
//! that work is bounded by the size of the input however it is corrupted; and a
//! record larger than the maximum is scanned past (counted, never buffered).

use std::io::{self, Read};

/// Why a file could not be split into records.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The reader failed (corrupt gzip, cap reached, I/O).
    #[error("read failed: {0}")]
    Io(#[source] io::Error),
    /// The document is not a JSON object with a `Records` array.
    #[error("not a CloudTrail log file: {0}")]
    NotCloudTrail(&'static str),
    /// The document ends in the middle of a value.
    #[error("truncated JSON at byte {0}")]
    Truncated(u64),
    /// A byte that cannot appear where it is (a stray `:` or `}` in `Records`…).
    #[error("malformed JSON at byte {at}: expected {expected}")]
    Malformed {
        /// Offset of the offending byte in the decompressed stream.
        at: u64,
        /// What the splitter expected there.
        expected: &'static str,
    },
    /// The read buffer would have to grow past the maximum record size (kept for
    /// callers that match on it; oversized records are skipped, not an error).
    #[error("record at byte {at} is larger than {max} bytes")]
    RecordTooLarge {
        /// Offset of the record in the decompressed stream.
        at: u64,
        /// The configured maximum.
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Inside the top-level object, before a key (or its closing brace).
    TopKey,
    /// Inside the `Records` array, before an element (or the closing bracket).
    InRecords,
    Done,
}

/// One scanned value: its bytes are in the buffer, or it was too large and was
/// scanned past.
enum Value {
    Kept(usize),
    Skipped { at: u64, len: u64 },
}

/// Yields the raw bytes of each element of the top-level `Records` array.
pub struct RecordSplitter<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    consumed: u64,
    eof: bool,
    state: State,
    saw_records: bool,
    max_record: usize,
    oversized: u64,
}

const CHUNK: usize = 256 * 1024;

/// Whether a byte can start a JSON value.
fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

impl<R: Read> RecordSplitter<R> {
    /// Splits the decompressed stream `reader`; records over `max_record` bytes are
    /// skipped (see [`RecordSplitter::oversized`]).
    pub fn new(reader: R, max_record: usize) -> Self {
        Self {
            reader,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            consumed: 0,
            eof: false,
            state: State::Start,
            saw_records: false,
            max_record: max_record.max(1),
            oversized: 0,
        }
    }

    /// Decompressed bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.consumed + self.start as u64
    }

    /// Records skipped so far because they were larger than the maximum.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Reads more input after the unconsumed tail; `false` at end of input.
    fn more(&mut self) -> Result<bool, SplitError> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.consumed += self.start as u64;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Unreachable while values over the maximum are scanned past; kept so
            // that the buffer can never grow without bound.
            if self.buf.len() > self.max_record.saturating_add(CHUNK) {
                return Err(SplitError::RecordTooLarge {
                    at: self.consumed,
                    max: self.max_record,
                });
            }
            let new_len = self.buf.len() * 2;
            self.buf.resize(new_len, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SplitError::Io(e)),
            }
        }
    }

    /// The next non-whitespace byte at or after `self.start` (not consumed).
    fn peek_token(&mut self) -> Result<Option<u8>, SplitError> {
        loop {
            while self.start < self.end {
                let b = self.buf[self.start];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.start += 1;
            }
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    fn expect_token(&mut self) -> Result<u8, SplitError> {
        match self.peek_token()? {
            Some(b) => Ok(b),
            None if self.bytes_read() == 0 => Err(SplitError::NotCloudTrail("empty document")),
            None => Err(SplitError::Truncated(self.bytes_read())),
        }
    }

    /// Needs bytes past `start + off`: once `off` reaches the maximum, the bytes
    /// scanned so far are dropped (`dropped` counts them) so that the buffer never
    /// holds more than one maximum-size value. `false` at end of input.
    fn refill(&mut self, off: &mut usize, dropped: &mut u64) -> Result<bool, SplitError> {
        if *off >= self.max_record {
            *dropped += *off as u64;
            self.start += *off;
            *off = 0;
        }
        self.more()
    }

    /// Scans the JSON value starting at `self.start` (a non-whitespace byte) and
    /// leaves `self.start` on it when kept, or after it when skipped. Every
    /// iteration consumes a byte or reads more input, so this ends.
    fn value(&mut self, expected: &'static str) -> Result<Value, SplitError> {
        let at = self.bytes_read();
        let first = self.buf[self.start];
        if !starts_value(first) {
            return Err(SplitError::Malformed { at, expected });
        }
        let mut off = 0usize;
        let mut dropped = 0u64;
        let mut depth = 0usize;
        let mut in_str = false;
        let len = loop {
            if self.start + off >= self.end {
                if self.refill(&mut off, &mut dropped)? {
                    continue;
                }
                // A scalar may end exactly at end of input.
                if depth == 0 && !in_str && first != b'"' {
                    break off;
                }
                return Err(SplitError::Truncated(self.bytes_read() + off as u64));
            }
            if in_str {
                let hay = &self.buf[self.start + off..self.end];
                match memchr::memchr2(b'"', b'\\', hay) {
                    Some(i) if hay[i] == b'"' => {
                        off += i + 1;
                        in_str = false;
                        if depth == 0 {
                            break off;
                        }
                    }
                    Some(i) if i + 1 < hay.len() => off += i + 2,
                    Some(i) => {
                        // An escape at the buffer's end: read its second byte.
                        off += i;
                        if !self.refill(&mut off, &mut dropped)? {
                            return Err(SplitError::Truncated(self.bytes_read() + off as u64));
                        }
                    }
                    None => off += hay.len(),
                }
                continue;
            }
            match self.buf[self.start + off] {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => break off,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        break off + 1;
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' | b':' if depth == 0 => break off,
                _ => {}
            }
            off += 1;
        };
        if dropped > 0 {
            self.start += len;
            return Ok(Value::Skipped {
                at,
                len: dropped + len as u64,
            });
        }
        Ok(Value::Kept(len))
    }

    /// Returns the next record's raw bytes, valid until the next call. A record
    /// larger than the maximum is skipped with a warning and counted in
    /// [`RecordSplitter::oversized`].
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, SplitError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    if self.expect_token()? != b'{' {
                        return Err(SplitError::NotCloudTrail("document is not a JSON object"));
                    }
                    self.start += 1;
                    self.state = State::TopKey;
                }
                State::TopKey => match self.expect_token()? {
                    b'}' => {
                        self.start += 1;
                        self.state = State::Done;
                        if !self.saw_records {
                            return Err(SplitError::NotCloudTrail("no Records array"));
                        }
                    }
                    b',' => self.start += 1,
                    b'"' => self.top_level_member()?,
                    _ => return Err(SplitError::NotCloudTrail("malformed object")),
                },
                State::InRecords => match self.expect_token()? {
                    b']' => {
                        self.start += 1;
                        self.state = State::TopKey;
                    }
                    b',' => self.start += 1,
                    _ => match self.value("a record")? {
                        Value::Kept(len) => {
                            let at = self.start;
                            self.start += len;
                            return Ok(Some(&self.buf[at..at + len]));
                        }
                        Value::Skipped { at, len } => {
                            self.oversized += 1;
                            tracing::warn!(
                                offset = at,
                                bytes = len,
                                max = self.max_record,
                                "skipping a CloudTrail record larger than the maximum"
                            );
                        }
                    },
                },
            }
        }
    }

    /// One `"key": value` of the top-level object (at its opening quote): enters
    /// `Records`, or scans past any other value.
    fn top_level_member(&mut self) -> Result<(), SplitError> {
        let is_records = match self.value("a key")? {
            Value::Kept(len) => {
                let key = &self.buf[self.start..self.start + len];
                let is = key == b"\"Records\"";
                self.start += len;
                is
            }
            Value::Skipped { .. } => false,
        };
        if self.expect_token()? != b':' {
            return Err(SplitError::NotCloudTrail("malformed object"));
        }
        self.start += 1;
        let first = self.expect_token()?;
        if is_records {
            if first != b'[' {
                return Err(SplitError::NotCloudTrail("Records is not an array"));
            }
            self.start += 1;
            self.saw_records = true;
            self.state = State::InRecords;
        } else if let Value::Kept(len) = self.value("a value")? {
            self.start += len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `.1` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn split_all(doc: &[u8], reader_chunk: usize) -> Result<Vec<String>, SplitError> {
        let mut s = RecordSplitter::new(Trickle(doc, reader_chunk), 1 << 20);
        let mut out = Vec::new();
        while let Some(r) = s.next_record()? {
            out.push(String::from_utf8_lossy(r).into_owned());
        }
        Ok(out)
    }

    /// Splits `doc` to the end, failing the test if the splitter yields more
    /// records than the document has bytes (a record always consumes at least one).
    fn split_bounded(doc: &[u8], max_record: usize) -> Result<usize, SplitError> {
        let mut s = RecordSplitter::new(doc, max_record);
        let mut steps = 0usize;
        while s.next_record()?.is_some() {
            steps += 1;
            assert!(
                steps <= doc.len() + 1,
                "splitter does not advance on {:?}",
                String::from_utf8_lossy(&doc[..doc.len().min(200)])
            );
        }
        Ok(steps)
    }

    /// The first three records of a real-shaped fixture, as one log file (small,
    /// so that every corruption of it can be tried).
    fn small_file() -> Vec<u8> {
        let path = format!(
            "{}/../../tests/fixtures/cloudtrail/identities.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut s = RecordSplitter::new(&doc[..], 1 << 20);
        let mut records = Vec::new();
        while let Some(r) = s.next_record().unwrap() {
            if records.len() < 3 {
                records.push(String::from_utf8_lossy(r).into_owned());
            }
        }
        assert_eq!(records.len(), 3);
        format!("{{\"Records\":[\n{}]}}\n", records.join(",\n")).into_bytes()
    }

    /// Regression: a stray token in `Records` made the splitter return an empty
    /// record without advancing, so `scan` spun forever.
    #[test]
    fn stray_tokens_in_records_fail_instead_of_looping() {
        let cases: [&[u8]; 7] = [
            br#"{"Records":[:]}"#,
            br#"{"Records":[}]}"#,
            br#"{"Records":[{"a":1},:]}"#,
            br#"{"Records":[{"a":1}}]}"#,
            br#"{"Records":[)]}"#,
            br#"{"Records":[{"a":1},]"#,
            br#"{"Records":[ : ] }"#,
        ];
        for doc in cases {
            assert!(
                split_bounded(doc, 1 << 20).is_err(),
                "case {:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    /// Every byte of a real-shaped file replaced by each structural character (and
    /// bit-flipped), and the file cut at every offset: the splitter always ends.
    #[test]
    fn terminates_on_every_corruption_of_a_real_file() {
        let doc = small_file();
        assert_eq!(split_bounded(&doc, 1 << 20).unwrap(), 3);
        for at in 0..doc.len() {
            let _ = split_bounded(&doc[..at], 1 << 20);
            for b in [
                b':',
                b'}',
                b']',
                b'{',
                b'[',
                b',',
                b'"',
                b'\\',
                b' ',
                b'x',
                doc[at] ^ 0x01,
            ] {
                let mut bad = doc.clone();
                bad[at] = b;
                let _ = split_bounded(&bad, 1 << 20);
                let _ = split_bounded(&bad, 300);
            }
        }
    }

    #[test]
    fn splits_records_whatever_the_read_size() {
        let doc = br#" {"Other":{"a":[1,2,{"b":"]"}]},"Records":[{"eventID":"a","x":"q\"}{"},
            {"eventID":"b","n":[1,{"c":null}]} , 5, "s\\"],"Tail":true} "#;
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let recs = split_all(doc, chunk).unwrap();
            assert_eq!(
                recs,
                vec![
                    r#"{"eventID":"a","x":"q\"}{"}"#,
                    r#"{"eventID":"b","n":[1,{"c":null}]}"#,
                    "5",
                    r#""s\\""#,
                ],
                "read size {chunk}"
            );
        }
    }

    #[test]
    fn empty_records_array_yields_nothing() {
        assert!(split_all(br#"{"Records":[]}"#, 3).unwrap().is_empty());
    }

    #[test]
    fn rejects_documents_that_are_not_cloudtrail() {
        let cases: [&[u8]; 5] = [
            b"",
            b"[1,2]",
            br#"{"digestStartTime":"x","logFiles":[]}"#,
            br#"{"Records":{"a":1}}"#,
            b"not json at all",
        ];
        for doc in cases {
            assert!(
                matches!(split_all(doc, 5), Err(SplitError::NotCloudTrail(_))),
                "case {:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn reports_truncation_after_complete_records() {
        let doc = br#"{"Records":[{"eventID":"a"},{"eventID":"b","x":"trunc"#;
        let mut s = RecordSplitter::new(&doc[..], 1 << 20);
        assert_eq!(s.next_record().unwrap(), Some(&br#"{"eventID":"a"}"#[..]));
        assert!(matches!(s.next_record(), Err(SplitError::Truncated(_))));
    }

    /// Regression: a record over the maximum failed the whole file, dropping the
    /// records after it.
    #[test]
    fn skips_records_over_the_limit_and_keeps_the_rest() {
        for filler in [r#""x":"aaaa""#, r#""x":[1,[2,{"y":"\\\"]"}]]"#] {
            let big = filler.repeat(400_000);
            let doc = format!(
                r#"{{"Records":[{{"eventID":"a"}},{{{big}}},{{"eventID":"b"}},{{"k":"{}"}},{{"eventID":"c"}}]}}"#,
                "q".repeat(3_000_000)
            );
            for chunk in [7, 4096, 1 << 20] {
                let mut s = RecordSplitter::new(Trickle(doc.as_bytes(), chunk), 1 << 20);
                let mut out = Vec::new();
                while let Some(r) = s.next_record().unwrap() {
                    out.push(String::from_utf8_lossy(r).into_owned());
                }
                assert_eq!(
                    out,
                    [
                        r#"{"eventID":"a"}"#,
                        r#"{"eventID":"b"}"#,
                        r#"{"eventID":"c"}"#
                    ],
                    "filler {filler}, read size {chunk}"
                );
                assert_eq!(s.oversized(), 2, "filler {filler}, read size {chunk}");
                assert!(
                    s.buf.len() <= (1 << 20) + CHUNK,
                    "buffer grew to {} for filler {filler}",
                    s.buf.len()
                );
            }
        }
    }

    #[test]
    fn an_oversized_record_cut_short_is_truncation() {
        let doc = format!(r#"{{"Records":[{{"x":"{}"#, "a".repeat(5000));
        let mut s = RecordSplitter::new(doc.as_bytes(), 1000);
        assert!(matches!(s.next_record(), Err(SplitError::Truncated(_))));
    }
}
