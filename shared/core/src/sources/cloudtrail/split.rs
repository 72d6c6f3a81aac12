//! Splits a CloudTrail log file (`{"Records":[{...},{...}]}`) into the raw bytes of
//! each record without parsing the whole document, so that records can be parsed
//! one at a time into borrowed structs and memory stays bounded by the largest
//! record, whatever the size of the file.

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
    /// One record is larger than the configured maximum.
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
}

const CHUNK: usize = 256 * 1024;

impl<R: Read> RecordSplitter<R> {
    /// Splits the decompressed stream `reader`; records over `max_record` bytes are an error.
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
            max_record,
        }
    }

    /// Decompressed bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.consumed + self.start as u64
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

    fn expect_token(&mut self, what: &'static str) -> Result<u8, SplitError> {
        match self.peek_token()? {
            Some(b) => Ok(b),
            None if self.bytes_read() == 0 => Err(SplitError::NotCloudTrail("empty document")),
            None => {
                let _ = what;
                Err(SplitError::Truncated(self.bytes_read()))
            }
        }
    }

    /// Length of the JSON value starting at `self.start`, reading more as needed.
    fn value_len(&mut self) -> Result<usize, SplitError> {
        let mut off = 0usize;
        let mut depth = 0usize;
        loop {
            if self.start + off >= self.end {
                if off > self.max_record {
                    return Err(SplitError::RecordTooLarge {
                        at: self.bytes_read(),
                        max: self.max_record,
                    });
                }
                if !self.more()? {
                    // A scalar may end exactly at end of input.
                    if depth == 0 && off > 0 && self.buf[self.start] != b'"' {
                        return Ok(off);
                    }
                    return Err(SplitError::Truncated(self.bytes_read() + off as u64));
                }
                continue;
            }
            let b = self.buf[self.start + off];
            match b {
                b'"' => {
                    off = self.string_end(off + 1)?;
                    if depth == 0 {
                        return Ok(off);
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        // Closing bracket of the container: a scalar ended before it.
                        return Ok(off);
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Ok(off + 1);
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' | b':' if depth == 0 => return Ok(off),
                _ => {}
            }
            off += 1;
        }
    }

    /// Given `off` just after an opening quote, the offset just after the closing one.
    fn string_end(&mut self, mut off: usize) -> Result<usize, SplitError> {
        loop {
            let hay = &self.buf[self.start + off..self.end];
            match memchr::memchr2(b'"', b'\\', hay) {
                Some(i) if hay[i] == b'"' => return Ok(off + i + 1),
                Some(i) if self.start + off + i + 1 < self.end => off += i + 2,
                found => {
                    // Escape at the buffer's end, or no quote yet: read more.
                    if found.is_none() {
                        off = self.end - self.start;
                    }
                    if off > self.max_record.saturating_add(CHUNK) {
                        return Err(SplitError::RecordTooLarge {
                            at: self.bytes_read(),
                            max: self.max_record,
                        });
                    }
                    if !self.more()? {
                        return Err(SplitError::Truncated(self.bytes_read() + off as u64));
                    }
                }
            }
        }
    }

    /// Returns the next record's raw bytes, valid until the next call.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, SplitError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    if self.expect_token("document")? != b'{' {
                        return Err(SplitError::NotCloudTrail("document is not a JSON object"));
                    }
                    self.start += 1;
                    self.state = State::TopKey;
                }
                State::TopKey => match self.expect_token("key")? {
                    b'}' => {
                        self.start += 1;
                        self.state = State::Done;
                        if !self.saw_records {
                            return Err(SplitError::NotCloudTrail("no Records array"));
                        }
                    }
                    b',' => self.start += 1,
                    b'"' => {
                        let len = self.value_len()?;
                        let is_records = &self.buf[self.start..self.start + len] == b"\"Records\"";
                        self.start += len;
                        if self.expect_token("colon")? != b':' {
                            return Err(SplitError::NotCloudTrail("malformed object"));
                        }
                        self.start += 1;
                        let first = self.expect_token("value")?;
                        if is_records {
                            if first != b'[' {
                                return Err(SplitError::NotCloudTrail("Records is not an array"));
                            }
                            self.start += 1;
                            self.saw_records = true;
                            self.state = State::InRecords;
                        } else {
                            let len = self.value_len()?;
                            self.start += len;
                        }
                    }
                    _ => return Err(SplitError::NotCloudTrail("malformed object")),
                },
                State::InRecords => match self.expect_token("record")? {
                    b']' => {
                        self.start += 1;
                        self.state = State::TopKey;
                    }
                    b',' => self.start += 1,
                    _ => {
                        let len = self.value_len()?;
                        let at = self.start;
                        self.start += len;
                        return Ok(Some(&self.buf[at..at + len]));
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(doc: &[u8], reader_chunk: usize) -> Result<Vec<String>, SplitError> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut s = RecordSplitter::new(Trickle(doc, reader_chunk), 1 << 20);
        let mut out = Vec::new();
        while let Some(r) = s.next_record()? {
            out.push(String::from_utf8_lossy(r).into_owned());
        }
        Ok(out)
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

    #[test]
    fn refuses_records_over_the_limit() {
        let big = format!(r#"{{"Records":[{{"x":"{}"}}]}}"#, "a".repeat(2_000_000));
        let mut s = RecordSplitter::new(big.as_bytes(), 1000);
        assert!(matches!(
            s.next_record(),
            Err(SplitError::RecordTooLarge { .. })
        ));
    }
}
