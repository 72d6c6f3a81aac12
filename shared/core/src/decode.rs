//! Decoding of log objects: gzip or plain, always behind a cap on decompressed
//! size, so a small object that inflates to gigabytes fails cleanly instead of
//! exhausting a 128 MB Lambda.

use flate2::read::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};

/// Default cap on decompressed bytes per object (512 MiB).
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 512 * 1024 * 1024;

/// Decoding limits, set once per binary from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed size of one object or payload.
    pub max_decompressed_bytes: u64,
    /// Largest single record (CloudTrail records are at most a few hundred KB).
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_record_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why an object could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The object inflates past the configured cap.
    #[error("decompressed size exceeds the cap of {cap} bytes")]
    TooLarge {
        /// The cap in force.
        cap: u64,
    },
    /// The gzip stream or the underlying reader failed.
    #[error("cannot read object: {0}")]
    Io(#[source] io::Error),
}

/// Marker carried inside `io::Error` when the cap is hit, so callers can tell a cap
/// from a corrupt stream after the error passed through other readers.
#[derive(Debug, thiserror::Error)]
#[error("decompressed size exceeds the cap of {0} bytes")]
pub struct CapExceeded(pub u64);

impl DecodeError {
    /// Classifies an `io::Error` coming out of a reader made by [`open`].
    pub fn from_io(e: io::Error) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<CapExceeded>())
        {
            Some(CapExceeded(cap)) => DecodeError::TooLarge { cap: *cap },
            None => DecodeError::Io(e),
        }
    }
}

/// A reader that fails once more than `cap` bytes have come through.
#[derive(Debug)]
pub struct CappedReader<R> {
    inner: R,
    remaining: u64,
    cap: u64,
}

impl<R: Read> CappedReader<R> {
    /// Wraps `inner`, allowing at most `cap` bytes.
    pub fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            remaining: cap,
            cap,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Probe one byte: ending exactly at the cap is fine, going past is not.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(CapExceeded(self.cap))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Opens an object body: gunzips it when it starts with the gzip magic (several
/// concatenated members are read as one stream), passes it through otherwise, and
/// caps the decompressed size either way.
pub fn open<'a, R: Read + 'a>(body: R, cap: u64) -> Result<Box<dyn Read + 'a>, DecodeError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, body);
    let head = buffered.fill_buf().map_err(DecodeError::Io)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = MultiGzDecoder::new(buffered);
        Ok(Box::new(CappedReader::new(gz, cap)))
    } else {
        Ok(Box::new(CappedReader::new(buffered, cap)))
    }
}

/// Reads a whole (small) payload through [`open`] into memory.
pub fn read_all(body: &[u8], cap: u64) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    open(body, cap)?
        .read_to_end(&mut out)
        .map_err(DecodeError::from_io)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_gzip_and_plain_alike() {
        let text = br#"{"Records":[]}"#;
        assert_eq!(read_all(&gzip(text), 1024).unwrap(), text);
        assert_eq!(read_all(text, 1024).unwrap(), text);
    }

    #[test]
    fn stops_a_decompression_bomb_at_the_cap() {
        // 64 MiB of zeros gzip to about 64 KiB.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20);
        match read_all(&bomb, 1 << 20) {
            Err(DecodeError::TooLarge { cap }) => assert_eq!(cap, 1 << 20),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn allows_exactly_the_cap() {
        let data = vec![7u8; 4096];
        assert_eq!(read_all(&gzip(&data), 4096).unwrap().len(), 4096);
    }

    #[test]
    fn reports_corrupt_gzip_as_io_error() {
        let mut bad = gzip(b"hello world, hello world, hello world");
        let n = bad.len();
        bad[n / 2] ^= 0xff;
        bad.truncate(n - 4);
        assert!(matches!(read_all(&bad, 1 << 20), Err(DecodeError::Io(_))));
    }

    #[test]
    fn reads_concatenated_gzip_members() {
        let mut two = gzip(b"abc");
        two.extend(gzip(b"def"));
        assert_eq!(read_all(&two, 1024).unwrap(), b"abcdef");
    }
}
