//! Decoding of log objects and payloads: gzip or plain, always behind a cap on
//! decompressed size, so a small object that inflates to gigabytes fails cleanly
//! instead of exhausting the Lambda. Objects are streamed ([`open`]); payloads held
//! whole (CloudWatch Logs subscription data, [`read_all`]) go through the one
//! in-memory gunzip, [`gunzip_into`], whose buffer grows with what was produced.

use flate2::read::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};

/// Default cap on decompressed bytes per object (512 MiB). Objects are streamed,
/// record by record, so this bounds work, not memory.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 512 * 1024 * 1024;

/// Default cap on the decompressed size of one CloudWatch Logs subscription payload
/// (16 MiB). A payload is held in memory whole, so this bounds memory. Why 16 MiB:
/// the Lambda event is at most 1 MB (asynchronous invocation limit), so at most
/// about 750 KB of gzip; log events come from `PutLogEvents` batches of at most
/// 1,048,576 bytes of messages and 10,000 events, which the subscription JSON
/// (ids, timestamps, escaping) makes at most a few MB; and log text rarely
/// compresses better than 20 to 1 (750 KB × 20 ≈ 15 MB). A gzip bomb stops here
/// instead of at the object cap.
pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 16 * 1024 * 1024;

/// Decoding limits, set once per binary from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed size of one object (CloudTrail file, local file).
    pub max_decompressed_bytes: u64,
    /// Largest decompressed size of one CloudWatch Logs subscription payload.
    pub max_payload_bytes: u64,
    /// Largest single record (CloudTrail records are at most a few hundred KB).
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
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

/// Reads a whole (small) payload into memory: gunzipped by [`gunzip_into`] when
/// it starts with the gzip magic, copied otherwise; at most `cap` bytes either way.
pub fn read_all(body: &[u8], cap: u64) -> Result<Vec<u8>, DecodeError> {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if body.starts_with(&[0x1f, 0x8b]) {
        gunzip_into(&mut flate2::Decompress::new(false), body, cap, &mut out)?;
    } else if body.len() > cap {
        return Err(too_large(cap));
    } else {
        out.extend_from_slice(body);
    }
    Ok(out)
}

fn too_large(cap: usize) -> DecodeError {
    DecodeError::TooLarge {
        cap: u64::try_from(cap).unwrap_or(u64::MAX),
    }
}

fn bad_gzip(kind: io::ErrorKind, what: &'static str) -> DecodeError {
    DecodeError::Io(io::Error::new(kind, what))
}

/// Length of the gzip member header at the start of `gz` (RFC 1952, section 2.3).
fn gzip_header_len(gz: &[u8]) -> Result<usize, DecodeError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let bad = |what| bad_gzip(io::ErrorKind::InvalidData, what);
    let (Some(&[0x1f, 0x8b, method, flags]), true) = (gz.get(..4), gz.len() >= 10) else {
        return Err(bad("missing gzip magic bytes"));
    };
    if method != 8 || flags & 0xe0 != 0 {
        return Err(bad("unsupported gzip header"));
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let n = gz
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("gzip header cut short"))?;
        at += 2 + n;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = gz
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or_else(|| bad("gzip header cut short"))?;
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > gz.len() {
        return Err(bad("gzip header cut short"));
    }
    Ok(at)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Inflates every gzip member of `gz` (concatenated members read as one stream)
/// into `out` (cleared first), checking each member's CRC and length; more than
/// `cap` bytes is [`DecodeError::TooLarge`], a bad stream [`DecodeError::Io`].
/// `inflate` is reset per member, so one can serve many payloads.
///
/// Memory: `out` grows with what was actually produced, never to the cap up
/// front. Its capacity stays at most the largest of 2 × the bytes produced,
/// 8 × the compressed size and 16 KiB, and at most `cap` + 1: a payload refused at
/// the cap has cost at most the cap, one that inflates to `n` bytes at most 2 × `n`.
pub fn gunzip_into(
    inflate: &mut flate2::Decompress,
    mut gz: &[u8],
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    use flate2::{FlushDecompress, Status};
    out.clear();
    let limit = cap.saturating_add(1);
    // The last member's trailer tells the size of a single-member payload. It is the
    // sender's word: reserve it up front only up to a ratio that ordinary logs
    // reach, and otherwise let it only stop a doubling from overshooting.
    let claim = gz
        .len()
        .checked_sub(4)
        .map_or(0, |i| le32(&gz[i..]) as usize);
    let upfront = claim.min(gz.len().saturating_mul(8));
    if out.capacity() < upfront {
        out.reserve_exact(upfront.saturating_add(1).min(limit));
    }
    while !gz.is_empty() {
        let mut body = &gz[gzip_header_len(gz)?..];
        inflate.reset(false);
        let start = out.len();
        loop {
            if out.len() >= out.capacity() {
                let mut grow = out.len().max(16 * 1024);
                if claim > out.len() {
                    grow = grow.min(claim + 1 - out.len());
                }
                out.reserve_exact(grow.min(limit - out.len()));
            }
            let (in_before, out_before) = (inflate.total_in(), out.len());
            let status = inflate
                .decompress_vec(body, out, FlushDecompress::None)
                .map_err(|e| DecodeError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
            let used = usize::try_from(inflate.total_in() - in_before).unwrap_or(usize::MAX);
            body = body.get(used..).unwrap_or_default();
            if out.len() > cap {
                return Err(too_large(cap));
            }
            match status {
                Status::StreamEnd => break,
                _ if used == 0 && out.len() == out_before && out.len() < out.capacity() => {
                    return Err(bad_gzip(
                        io::ErrorKind::UnexpectedEof,
                        "gzip stream cut short",
                    ));
                }
                _ => {}
            }
        }
        let Some(trailer) = body.get(..8) else {
            return Err(bad_gzip(
                io::ErrorKind::UnexpectedEof,
                "gzip trailer cut short",
            ));
        };
        let mut crc = flate2::Crc::new();
        crc.update(&out[start..]);
        if crc.sum() != le32(trailer) || crc.amount() != le32(&trailer[4..]) {
            return Err(bad_gzip(
                io::ErrorKind::InvalidData,
                "gzip checksum or length mismatch",
            ));
        }
        gz = &body[8..];
    }
    Ok(())
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

    /// Regression: a payload claiming (in its gzip trailer) to inflate to 4 GiB
    /// reserved up to the cap before inflating anything, and a bomb refused at the
    /// cap had doubled its buffer up to it. Capacity now follows what was produced.
    #[test]
    fn the_output_grows_with_what_was_produced_not_with_the_cap() {
        let cap = 64 << 20;
        // A lying size claim on a small payload reserves nothing near the cap.
        let mut liar = gzip(&[b'x'; 1000]);
        let n = liar.len();
        liar[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut out = Vec::new();
        let mut inflate = flate2::Decompress::new(false);
        assert!(gunzip_into(&mut inflate, &liar, cap, &mut out).is_err());
        assert!(
            out.capacity() <= (8 * n).max(32 << 10),
            "{}",
            out.capacity()
        );
        // A bomb refused at the cap holds at most the cap.
        let bomb = gzip(&vec![0u8; 80 << 20]);
        assert!(matches!(
            gunzip_into(&mut inflate, &bomb, cap, &mut out),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(out.capacity() <= cap + 1, "{}", out.capacity());
        // A valid payload of n bytes holds at most 2n (plus the small floor).
        for size in [1usize, 100_000, 3 << 20] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let gz = gzip(&data);
            let mut out = Vec::new();
            gunzip_into(&mut inflate, &gz, cap, &mut out).unwrap();
            assert_eq!(out, data);
            let bound = (2 * size).max(8 * gz.len()).max(16 << 10) + 1;
            assert!(
                out.capacity() <= bound,
                "{size}: {} > {bound}",
                out.capacity()
            );
            // A truthful size claim makes the last doubling land on the size.
            assert!(
                out.capacity() <= size.max(16 << 10) + 1,
                "{size}: {}",
                out.capacity()
            );
        }
    }

    #[test]
    fn reads_concatenated_gzip_members() {
        let mut two = gzip(b"abc");
        two.extend(gzip(b"def"));
        assert_eq!(read_all(&two, 1024).unwrap(), b"abcdef");
    }
}
