//! Window aggregation shared by the network and web sources.
//!
//! A flood, a scan or a brute force is not one log line but many: one request or
//! one flow says nothing, a thousand from one address in a minute says a lot. Events
//! are grouped into **tumbling 60-second windows** aligned on the minute (UTC), per
//! *entity*: the source address (every source), and the target (a normalised path
//! for web logs, a destination address for flow logs), which catches attacks spread
//! over many sources (a botnet flood, credential stuffing, a spoofed SYN flood).
//!
//! State lives inside one batch: one subscription payload in the Lambda, the whole
//! input for the CLI. A window that straddles two payloads is seen as two partial
//! windows (each scored on what it holds).

use crate::intern::{Interner, Sym};
use std::net::IpAddr;

/// Window length in seconds.
pub const WINDOW_SECS: i64 = 60;

/// The window (start, epoch seconds) holding a time.
pub fn window_start(time: i64) -> i64 {
    time.div_euclid(WINDOW_SECS) * WINDOW_SECS
}

/// `log10(1 + x)`: counts and byte totals on a scale models can split evenly.
pub fn lg(x: f64) -> f32 {
    x.max(0.0).ln_1p() as f32 / std::f32::consts::LN_10
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 { 0.0 } else { a as f32 / b as f32 }
}

/// `-log10` of a share of training observations, capped at 7 (never seen ≈ 7).
pub fn rarity(count: u64, total: u64) -> f32 {
    if total == 0 {
        return RARITY_CAP;
    }
    if count == 0 {
        return RARITY_CAP;
    }
    (-(count as f64 / total as f64).log10()).min(f64::from(RARITY_CAP)) as f32
}

/// Largest rarity.
pub const RARITY_CAP: f32 = 7.0;

/// Whether an address is private (RFC 1918, RFC 4193, loopback, link-local, CGNAT):
/// traffic that stays inside the network.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            v6.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

/// The CloudWatch Logs event ids of a batch, stored end to end in one string.
#[derive(Debug, Default, Clone)]
pub struct EventIds {
    text: String,
    ends: Vec<u32>,
}

impl EventIds {
    /// Appends an id; returns its index.
    pub fn push(&mut self, id: &str) -> u32 {
        self.text.push_str(id);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        u32::try_from(self.ends.len() - 1).unwrap_or(u32::MAX)
    }

    /// The id at an index ("" out of range).
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0) as usize
        };
        self.text.get(start..end).unwrap_or("")
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// What every window keeps besides its features: where it starts and ends, its
/// first event (whose CloudWatch Logs id names the finding) and its top targets.
#[derive(Debug, Clone)]
pub struct WindowMeta {
    /// Window start (epoch seconds).
    pub start: i64,
    /// Earliest event time in the window.
    pub first_time: i64,
    /// Latest event time in the window.
    pub last_time: i64,
    /// Index of the window's first event in the batch.
    pub first_event: u32,
    /// Events in the window.
    pub events: u64,
    /// The most frequent targets (interned text, count), most frequent first.
    pub top: Vec<(Sym, u64)>,
}

impl WindowMeta {
    /// A window opened by an event.
    pub fn new(time: i64, event: u32) -> Self {
        Self {
            start: window_start(time),
            first_time: time,
            last_time: time,
            first_event: event,
            events: 0,
            top: Vec::new(),
        }
    }

    /// Counts an event.
    pub fn see(&mut self, time: i64, event: u32) {
        self.events += 1;
        if time < self.first_time {
            self.first_time = time;
        }
        if time > self.last_time {
            self.last_time = time;
        }
        if event < self.first_event {
            self.first_event = event;
        }
    }

    /// "a (12), b (3)" for the top targets.
    pub fn top_text(&self, strings: &Interner, n: usize) -> String {
        self.top
            .iter()
            .take(n)
            .map(|(s, c)| format!("{} ({c})", strings.resolve(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Keeps the `k` largest `(target, count)` pairs seen for a window.
pub fn top_k(pairs: impl Iterator<Item = (Sym, u64)>, k: usize) -> Vec<(Sym, u64)> {
    let mut v: Vec<(Sym, u64)> = pairs.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

/// Defines a feature schema: a `Col` enum, the `FEATURES` table and `Col::ALL`,
/// like `features::cloudtrail`.
macro_rules! window_schema {
    ($( $idx:ident = $name:literal, $meaning:literal, $range:literal; )*) => {
        /// Column indices of the schema.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Col { $( $idx, )* }
        /// The columns, in order.
        pub const FEATURES: &[$crate::features::FeatureDef] = &[ $( $crate::features::FeatureDef { name: $name, meaning: $meaning, range: $range }, )* ];
        impl Col {
            /// Every column, in order.
            pub const ALL: &[Col] = &[ $( Col::$idx, )* ];
        }
        /// Number of columns.
        pub const N_FEATURES: usize = FEATURES.len();
        /// A row of the schema.
        pub type Row = [f32; N_FEATURES];
    };
}
pub(crate) use window_schema;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_on_the_minute() {
        assert_eq!(window_start(1_700_000_059), 1_700_000_040);
        assert_eq!(window_start(1_700_000_040), 1_700_000_040);
        assert_eq!(window_start(-1), -60);
    }

    #[test]
    fn event_ids_round_trip() {
        let mut ids = EventIds::default();
        let a = ids.push("3720");
        let b = ids.push("3721999");
        assert_eq!(ids.get(a), "3720");
        assert_eq!(ids.get(b), "3721999");
        assert_eq!(ids.get(9), "");
    }

    #[test]
    fn internal_addresses() {
        for (ip, want) in [
            ("10.0.1.5", true),
            ("172.31.0.1", true),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("8.8.8.8", false),
            ("fd00::1", true),
            ("2001:db8::1", false),
        ] {
            assert_eq!(is_internal(ip.parse().unwrap()), want, "{ip}");
        }
    }

    #[test]
    fn scales() {
        assert_eq!(lg(0.0), 0.0);
        assert!((lg(9.0) - 1.0).abs() < 1e-6);
        assert_eq!(ratio(1, 0), 0.0);
        assert_eq!(rarity(0, 10), RARITY_CAP);
        assert!((rarity(1, 10) - 1.0).abs() < 1e-6);
    }
}
