//! Seeded randomness and the identifier spellings AWS uses (UUIDs, access-key ids,
//! resource ids). Every generator draws from its own stream, derived from the run's
//! seed and a label, so adding or reordering one part never changes another's output.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream every simulator part draws from.
pub(crate) type SimRng = ChaCha8Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of the random part of IAM unique ids and access-key ids.
const KEY_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// SplitMix64 finaliser: spreads nearby inputs over the whole 64-bit range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for the stream named `label`/`index` of run `seed` (FNV-1a over the label).
pub(crate) fn sub_seed(seed: u64, label: &str, index: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(mix(seed ^ h).wrapping_add(index))
}

/// A fresh stream for `label`/`index` of run `seed`.
pub(crate) fn stream(seed: u64, label: &str, index: u64) -> SimRng {
    ChaCha8Rng::seed_from_u64(sub_seed(seed, label, index))
}

fn from_chars(rng: &mut SimRng, chars: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| char::from(chars[rng.random_range(0..chars.len())]))
        .collect()
}

/// `n` random ASCII letters and digits (log-file name suffixes).
pub(crate) fn alnum(rng: &mut SimRng, n: usize) -> String {
    from_chars(rng, ALNUM, n)
}

/// `n` random lower-case hex digits (resource ids, hashes).
pub(crate) fn hex(rng: &mut SimRng, n: usize) -> String {
    from_chars(rng, HEX, n)
}

/// `n` random lower-case letters and digits (session names, suffixes).
pub(crate) fn lower(rng: &mut SimRng, n: usize) -> String {
    from_chars(rng, LOWER_DIGITS, n)
}

/// An IAM unique id or key id with the given prefix: `AIDA…`, `AROA…`, `AKIA…`, `ASIA…`.
pub(crate) fn iam_id(rng: &mut SimRng, prefix: &str) -> String {
    let n = if prefix.starts_with("AK") || prefix.starts_with("AS") {
        16
    } else {
        17
    };
    format!("{prefix}{}", from_chars(rng, KEY_CHARS, n))
}

/// A version-4 UUID, lower-case and hyphenated (`eventID`, most `requestID`s).
pub(crate) fn uuid4(rng: &mut SimRng) -> String {
    let a: u128 = rng.random();
    let v = (a & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An S3-style request id: 16 upper-case hex digits.
pub(crate) fn s3_request_id(rng: &mut SimRng) -> String {
    hex(rng, 16).to_ascii_uppercase()
}

/// Picks an index with probability proportional to `weights` (all zero picks 0).
pub(crate) fn pick_weighted(rng: &mut SimRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Picks one element of a non-empty slice; `None` for an empty one.
pub(crate) fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len()))
    }
}

/// A standard normal draw (Box–Muller), for human working-hour times.
pub(crate) fn normal(rng: &mut SimRng, mean: f64, sd: f64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_4_shape() {
        let mut rng = stream(1, "t", 0);
        for _ in 0..100 {
            let u = uuid4(&mut rng);
            assert_eq!(u.len(), 36, "{u}");
            assert_eq!(&u[14..15], "4", "{u}");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
            assert_eq!(u.matches('-').count(), 4, "{u}");
        }
    }

    #[test]
    fn streams_depend_on_seed_label_and_index() {
        let a = sub_seed(7, "day", 1);
        assert_eq!(a, sub_seed(7, "day", 1));
        assert_ne!(a, sub_seed(8, "day", 1));
        assert_ne!(a, sub_seed(7, "day", 2));
        assert_ne!(a, sub_seed(7, "dax", 1));
    }

    #[test]
    fn iam_ids_have_aws_lengths() {
        let mut rng = stream(1, "t", 0);
        assert_eq!(iam_id(&mut rng, "AKIA").len(), 20);
        assert_eq!(iam_id(&mut rng, "ASIA").len(), 20);
        assert_eq!(iam_id(&mut rng, "AIDA").len(), 21);
        assert_eq!(iam_id(&mut rng, "AROA").len(), 21);
    }

    #[test]
    fn weighted_pick_never_picks_zero_weight() {
        let mut rng = stream(3, "t", 0);
        for _ in 0..1000 {
            assert_ne!(pick_weighted(&mut rng, &[1.0, 0.0, 2.0]), 1);
        }
    }
}
