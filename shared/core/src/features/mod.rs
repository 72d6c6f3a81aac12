//! Features: each source's events turned into fixed-width `f32` vectors, with a
//! documented schema whose hash a model records so that a model trained on one
//! schema is never used with another.

pub mod access_log;
pub mod cloudtrail;
pub mod vpcflow;
pub mod window;

use sha2::{Digest, Sha256};

/// One column of a feature schema.
#[derive(Debug, Clone, Copy)]
pub struct FeatureDef {
    /// Column name (snake_case, stable).
    pub name: &'static str,
    /// What it measures.
    pub meaning: &'static str,
    /// Its range.
    pub range: &'static str,
}

/// A stable hash of a schema: the first 64 bits of SHA-256 over its id and column
/// names, in hex. Changing a name, the order or the id changes the hash.
pub fn schema_hash(id: &str, defs: &[FeatureDef]) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    for d in defs {
        h.update(b"\n");
        h.update(d.name.as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 64-bit FNV-1a: a hash that never changes between builds or platforms, for keys
/// stored inside model artifacts.
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in p.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
