//! Behavioural baselines: a profile per principal of what it normally does (source
//! networks, regions, user-agent families, API actions, services, hours of the
//! day), kept online in a [`crate::ports::ProfileStore`] and updated after every
//! object, so "new for this principal" means new in the last 30 days, not merely
//! absent from the model's training week.
//!
//! Before a batch is scored its principals' profiles are read once; an event of a
//! principal past its learning period that does something its profile lacks gets a
//! reason ("first call of `CreateAccessKey` by this principal in 30 days"), the
//! model's novelty columns (`new_action`, `new_network`, `new_client`) are set, and
//! a model verdict on a mutating call is raised a little (see
//! [`novelty::EventBaseline::adjust_model`]). After the object is stored and
//! alerted, what it showed is merged into the profiles ([`observe`]).
//!
//! Learning period: a principal whose profile covers less than
//! [`BaselineConfig::learning_days`] of history, or fewer than
//! [`BaselineConfig::min_events`] successful calls, gets no novelty reasons, and if
//! the model did not see it in training either, the model alone cannot take it above
//! `low`. Rules still fire at full severity. While the store is young every profile
//! is, so a new account is in learning as a whole. The price: an attacker's
//! brand-new backdoor user is caught by the rules (user and key creation, admin
//! policies), not by the model, during its first days.

pub mod novelty;
mod profile;
#[cfg(test)]
mod tests;

pub use novelty::{BatchBaseline, Call, EventBaseline, Novelty, Standing};
pub use profile::{
    DECAY_DAYS, EntrySet, Facet, MAX_KEY_BYTES, MAX_ORIGINS, Profile, ProfileUpdate, day_of,
};

use crate::features::fnv1a;
use crate::intern::Sym;
use crate::sources::cloudtrail::{CtBatch, CtEvent, ErrorClass, UaFamily, network_of};
use crate::timefmt;
use rustc_hash::FxHashMap;

/// Default learning period, in days of history per principal.
pub const DEFAULT_LEARNING_DAYS: u32 = 7;
/// Default least number of successful calls before a profile is trusted.
pub const DEFAULT_MIN_EVENTS: u64 = 20;

/// Settings of the baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselineConfig {
    /// Days of history a profile needs before its novelty counts.
    pub learning_days: u32,
    /// Successful calls a profile needs before its novelty counts.
    pub min_events: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            learning_days: DEFAULT_LEARNING_DAYS,
            min_events: DEFAULT_MIN_EVENTS,
        }
    }
}

/// The key of a principal's profile: account and principal, so that an
/// organisation trail keeps the same role name in two accounts apart.
pub fn profile_key(account: &str, principal: &str) -> String {
    format!("{account}|{principal}")
}

/// The user-agent family as a profile value.
pub fn client_key(ua: UaFamily) -> &'static str {
    match ua {
        UaFamily::Console => "console",
        UaFamily::Cli => "cli",
        UaFamily::Sdk => "sdk",
        UaFamily::Iac => "iac",
        UaFamily::Service => "service",
        UaFamily::Script => "script",
        UaFamily::Offensive => "offensive",
        UaFamily::Other => "other",
    }
}

/// `iam.amazonaws.com` → `iam`.
pub fn service_of(event_source: &str) -> &str {
    event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source)
}

/// The hour of the day as a profile value (`03`).
pub fn hour_key(hour: u8) -> &'static str {
    const HOURS: [&str; 24] = [
        "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14",
        "15", "16", "17", "18", "19", "20", "21", "22", "23",
    ];
    HOURS.get(usize::from(hour)).copied().unwrap_or("00")
}

/// Whether an event belongs in its principal's profile: a successful call by an
/// identified principal. Failed and denied calls are not learned, so that an
/// attacker's denied attempts never make the same action look normal.
fn learnable(batch: &CtBatch, e: &CtEvent) -> bool {
    e.error == ErrorClass::None && !e.login_failed && !batch.str(e.principal).is_empty()
}

/// The distinct profile keys of a batch's principals (those with at least one
/// learnable event or any event: every principal that may be scored).
pub fn batch_keys(batch: &CtBatch) -> Vec<String> {
    let mut seen: FxHashMap<(Sym, Sym), ()> = FxHashMap::default();
    let mut keys = Vec::new();
    for e in &batch.events {
        if batch.str(e.principal).is_empty() {
            continue;
        }
        if seen.insert((e.account, e.principal), ()).is_none() {
            keys.push(profile_key(batch.str(e.account), batch.str(e.principal)));
        }
    }
    keys
}

/// The origin of updates from one object: a stable hash of its name.
pub fn origin_of(object_name: &str) -> String {
    format!("{:016x}", fnv1a(&[object_name]))
}

/// What a batch showed of each principal, one update per principal.
pub fn observe(batch: &CtBatch, origin: &str) -> Vec<ProfileUpdate> {
    let mut by: FxHashMap<(Sym, Sym), usize> = FxHashMap::default();
    let mut actions: FxHashMap<(Sym, Sym), String> = FxHashMap::default();
    let mut out: Vec<ProfileUpdate> = Vec::new();
    for e in &batch.events {
        if !learnable(batch, e) {
            continue;
        }
        let i = *by.entry((e.account, e.principal)).or_insert_with(|| {
            out.push(ProfileUpdate {
                key: profile_key(batch.str(e.account), batch.str(e.principal)),
                origin: origin.to_owned(),
                seen: Profile::default(),
            });
            out.len() - 1
        });
        let Some(u) = out.get_mut(i) else { continue };
        let action = actions.entry((e.source, e.name)).or_insert_with(|| {
            format!("{}:{}", service_of(batch.str(e.source)), batch.str(e.name))
        });
        record(&mut u.seen, batch, e, action);
    }
    for u in &mut out {
        u.seen.prune();
    }
    out
}

/// Records one event into a profile.
fn record(p: &mut Profile, batch: &CtBatch, e: &CtEvent, action: &str) {
    p.record_time(e.time);
    let day = day_of(e.time);
    let ip = batch.str(e.ip);
    if !ip.is_empty() {
        p.networks.insert(network_of(ip), day);
    }
    let region = batch.str(e.region);
    if !region.is_empty() {
        p.regions.insert(region, day);
    }
    p.clients.insert(client_key(e.ua), day);
    let service = service_of(batch.str(e.source));
    p.services.insert(service, day);
    p.actions.insert(action, day);
    p.hours.insert(hour_key(timefmt::hour_of_day(e.time)), day);
}
