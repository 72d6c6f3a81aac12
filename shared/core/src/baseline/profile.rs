//! One principal's profile: what it has done lately, as bounded sets of values with
//! the day each was last seen, and how updates from many writers merge into it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Entries not seen for this many days drop out (and count as new again).
pub const DECAY_DAYS: i64 = 30;

/// Longest value kept, in bytes (longer ones are cut at a character boundary), so
/// that a crafted record cannot grow a profile.
pub const MAX_KEY_BYTES: usize = 128;

/// Origins (objects) remembered per profile to recognise a repeated update.
pub const MAX_ORIGINS: usize = 64;

const SECONDS_PER_DAY: i64 = 86_400;

/// The day number (days since 1970-01-01, UTC) of an epoch second.
pub fn day_of(t: i64) -> i64 {
    t.div_euclid(SECONDS_PER_DAY)
}

/// What a profile remembers, each with its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    /// Source networks (/24 for IPv4, /48 for IPv6, or the service name).
    Network,
    /// AWS regions.
    Region,
    /// User-agent families.
    Client,
    /// API actions as `service:EventName`.
    Action,
    /// Services (`iam`, `s3`…).
    Service,
    /// UTC hours of the day (`00`–`23`).
    Hour,
}

impl Facet {
    /// Every facet.
    pub const ALL: [Facet; 6] = [
        Facet::Network,
        Facet::Region,
        Facet::Client,
        Facet::Action,
        Facet::Service,
        Facet::Hour,
    ];

    /// Most entries kept; when full, the entries seen longest ago drop first.
    pub fn capacity(self) -> usize {
        match self {
            Facet::Network => 32,
            Facet::Region => 32,
            Facet::Client => 16,
            Facet::Action => 256,
            Facet::Service => 64,
            Facet::Hour => 24,
        }
    }
}

/// A bounded set of values, each with the last day it was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntrySet(BTreeMap<String, i64>);

/// `s` cut to at most [`MAX_KEY_BYTES`] at a character boundary.
fn bounded(s: &str) -> &str {
    if s.len() <= MAX_KEY_BYTES {
        return s;
    }
    let mut end = MAX_KEY_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl EntrySet {
    /// Records `key` as seen on `day` (keeps the later day).
    pub fn insert(&mut self, key: &str, day: i64) {
        let key = bounded(key);
        match self.0.get_mut(key) {
            Some(d) => *d = (*d).max(day),
            None => {
                self.0.insert(key.to_owned(), day);
            }
        }
    }

    /// The last day `key` was seen, if it is remembered.
    pub fn last_seen(&self, key: &str) -> Option<i64> {
        self.0.get(bounded(key)).copied()
    }

    /// Whether `key` was seen within [`DECAY_DAYS`] before `day`.
    pub fn seen_within(&self, key: &str, day: i64) -> bool {
        self.last_seen(key)
            .is_some_and(|d| day.saturating_sub(d) < DECAY_DAYS)
    }

    /// Entries remembered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries and their last-seen days, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(k, d)| (k.as_str(), *d))
    }

    /// Union, keeping the later day of a key present in both.
    pub fn union(&mut self, other: &EntrySet) {
        for (k, &d) in &other.0 {
            self.insert(k, d);
        }
    }

    /// Drops entries not seen for [`DECAY_DAYS`] before `newest_day`, then, beyond
    /// `capacity`, those seen longest ago (ties: the greater key first), so the
    /// result is the same whatever order updates arrived in.
    pub fn prune(&mut self, newest_day: i64, capacity: usize) {
        // Days come from stored profiles: saturate, so a day far in the past (or
        // future) decays (or stays) instead of overflowing.
        self.0
            .retain(|_, d| newest_day.saturating_sub(*d) < DECAY_DAYS);
        if self.0.len() <= capacity {
            return;
        }
        let mut by_age: Vec<(i64, String)> = std::mem::take(&mut self.0)
            .into_iter()
            .map(|(k, d)| (d, k))
            .collect();
        // Newest first; among equal days the smaller key first.
        by_age.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        by_age.truncate(capacity);
        self.0 = by_age.into_iter().map(|(d, k)| (k, d)).collect();
    }
}

/// What one principal has done lately. Serialised as JSON in the stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// First successful call seen, epoch seconds (0 when `events` is 0).
    pub first_seen: i64,
    /// Last successful call seen, epoch seconds.
    pub last_seen: i64,
    /// Successful calls seen (approximate: see [`Profile::absorb`]).
    pub events: u64,
    /// Source networks.
    #[serde(default)]
    pub networks: EntrySet,
    /// Regions.
    #[serde(default)]
    pub regions: EntrySet,
    /// User-agent families.
    #[serde(default)]
    pub clients: EntrySet,
    /// Actions (`service:EventName`).
    #[serde(default)]
    pub actions: EntrySet,
    /// Services.
    #[serde(default)]
    pub services: EntrySet,
    /// UTC hours (`00`–`23`).
    #[serde(default)]
    pub hours: EntrySet,
    /// Updates already counted (their origin and day), so a repeated update does
    /// not count its events twice.
    #[serde(default)]
    pub origins: EntrySet,
}

/// What one object showed of one principal: merged into its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// The profile's key (see [`super::profile_key`]).
    pub key: String,
    /// Where the observations come from (a hash of the object): the same object
    /// processed again gives the same origin.
    pub origin: String,
    /// The observations, as a profile of their own.
    pub seen: Profile,
}

impl Profile {
    /// The set of one facet.
    pub fn facet(&self, f: Facet) -> &EntrySet {
        match f {
            Facet::Network => &self.networks,
            Facet::Region => &self.regions,
            Facet::Client => &self.clients,
            Facet::Action => &self.actions,
            Facet::Service => &self.services,
            Facet::Hour => &self.hours,
        }
    }

    /// The set of one facet, to change.
    pub fn facet_mut(&mut self, f: Facet) -> &mut EntrySet {
        match f {
            Facet::Network => &mut self.networks,
            Facet::Region => &mut self.regions,
            Facet::Client => &mut self.clients,
            Facet::Action => &mut self.actions,
            Facet::Service => &mut self.services,
            Facet::Hour => &mut self.hours,
        }
    }

    /// Records one successful call at `t`.
    pub fn record_time(&mut self, t: i64) {
        if self.events == 0 {
            self.first_seen = t;
            self.last_seen = t;
        } else {
            self.first_seen = self.first_seen.min(t);
            self.last_seen = self.last_seen.max(t);
        }
        self.events = self.events.saturating_add(1);
    }

    /// Days of history this profile covers by time `at` (the later of `at` and the
    /// last call, minus the first call).
    pub fn history_days(&self, at: i64) -> f64 {
        if self.events == 0 {
            return 0.0;
        }
        self.last_seen.max(at).saturating_sub(self.first_seen) as f64 / SECONDS_PER_DAY as f64
    }

    /// Merges an update: sets are unions keeping the later day, then decayed and
    /// bounded; times widen; events add up unless the update's origin was counted
    /// already. So merging is commutative (any order of updates gives the same
    /// profile) and idempotent (a retried update changes nothing), which makes
    /// concurrent writers and retries safe. Events of a repeat whose origin has
    /// since dropped out of the bounded origin list are counted again: the count
    /// only gates the learning period, so it may be approximate.
    pub fn absorb(&mut self, update: &ProfileUpdate) {
        let seen = &update.seen;
        if seen.events == 0 {
            return;
        }
        let fresh = self.origins.last_seen(&update.origin).is_none();
        if self.events == 0 {
            self.first_seen = seen.first_seen;
            self.last_seen = seen.last_seen;
        } else {
            self.first_seen = self.first_seen.min(seen.first_seen);
            self.last_seen = self.last_seen.max(seen.last_seen);
        }
        if fresh {
            self.events = self.events.saturating_add(seen.events);
        }
        for f in Facet::ALL {
            self.facet_mut(f).union(seen.facet(f));
        }
        self.origins.insert(&update.origin, day_of(seen.last_seen));
        self.prune();
    }

    /// Applies decay and the bounds, relative to the last call.
    pub fn prune(&mut self) {
        let newest = day_of(self.last_seen);
        for f in Facet::ALL {
            self.facet_mut(f).prune(newest, f.capacity());
        }
        self.origins.prune(newest, MAX_ORIGINS);
    }
}
