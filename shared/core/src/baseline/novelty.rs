//! Novelty of one event against its principal's profile, how it feeds the model's
//! novelty columns and severity, and the reasons it gives.

use super::{
    BaselineConfig, DECAY_DAYS, Facet, Profile, client_key, day_of, hour_key, profile_key,
};
use crate::features::cloudtrail::{CloudTrailEncoder, Col};
use crate::intern::Sym;
use crate::sources::cloudtrail::{CtBatch, CtEvent, IpClass, network_of};
use crate::timefmt;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Highest model-only severity of a principal in its learning period that the model
/// did not see in training either (just under medium).
pub const LEARNING_CAP: f64 = 3.9;
/// Severity added to a model verdict per kind of novelty (at most two counted).
pub const NOVELTY_STEP: f64 = 0.5;
/// Novelty never takes a model verdict above this (the model's own ceiling).
pub const NOVELTY_CEILING: f64 = 8.0;

/// Where an event's principal stands with its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    /// No principal to keep a profile for (identity-less service events).
    Untracked,
    /// Too little history: novelty is not judged.
    Learning {
        /// Days of history.
        days: f64,
        /// Successful calls seen.
        events: u64,
    },
    /// Enough history: novelty counts.
    Mature,
}

/// What is new for the principal, one bit per [`Facet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Novelty(u8);

fn bit(f: Facet) -> u8 {
    match f {
        Facet::Network => 1,
        Facet::Region => 2,
        Facet::Client => 4,
        Facet::Action => 8,
        Facet::Service => 16,
        Facet::Hour => 32,
    }
}

impl Novelty {
    /// Marks a facet as new.
    pub fn set(&mut self, f: Facet) {
        self.0 |= bit(f);
    }

    /// Whether a facet is new.
    pub fn has(self, f: Facet) -> bool {
        self.0 & bit(f) != 0
    }

    /// Whether nothing is new.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The baseline's view of one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventBaseline {
    /// The principal's standing.
    pub standing: Standing,
    /// What is new (empty unless [`Standing::Mature`]).
    pub novelty: Novelty,
    /// Whether the model saw this principal in training (enough calls to know it).
    pub model_known: bool,
    /// Whether the call came from a network that no principal of the object (as
    /// far as their profiles tell) used in the last 30 days: a public address
    /// foreign to the account. Private and service sources never are.
    pub foreign_network: bool,
}

/// What kind of call an event is, for [`EventBaseline::adjust_model`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// A read-only call.
    pub read_only: bool,
    /// The call failed or was denied (a failed console sign-in included).
    pub failed: bool,
    /// The user agent names attack tooling.
    pub attack_tooling: bool,
}

impl EventBaseline {
    /// Sets the model's novelty columns for what the profile finds new (an OR with
    /// what training found new, so the schema and the model stay as they are). A
    /// read's action novelty is left to training: a first read is how people work.
    pub fn apply_to_row(&self, row: &mut [f32], read_only: bool) {
        let mut set = |c: Col, on: bool| {
            if on && let Some(v) = row.get_mut(c as usize) {
                *v = 1.0;
            }
        };
        set(
            Col::NewAction,
            self.novelty.has(Facet::Action) && !read_only,
        );
        set(Col::NewNetwork, self.novelty.has(Facet::Network));
        set(Col::NewClient, self.novelty.has(Facet::Client));
    }

    /// The model's severity once the baseline is taken into account.
    ///
    /// In the learning period, a successful call by a principal the model did not
    /// see in training either, from a network the account knows, is kept at most
    /// `low` ([`LEARNING_CAP`]): a new colleague's first days. Failed or denied
    /// calls, attack tooling and calls from foreign networks are left alone: those
    /// are how a brute force or a backdoor's first use look.
    ///
    /// Past it, a verdict is raised by [`NOVELTY_STEP`] per kind of context novelty
    /// (network, client, region, hour; at most two). A new action is not counted
    /// here (the model's `new_action` column has it already), and a read-only call
    /// is raised only when its network or client is new.
    pub fn adjust_model(
        &self,
        sev: Option<f64>,
        call: Call,
        reasons: &mut Vec<String>,
    ) -> Option<f64> {
        let s = sev?;
        match self.standing {
            Standing::Untracked => Some(s),
            Standing::Learning { days, events } => {
                let exempt = call.failed || call.attack_tooling || self.foreign_network;
                if self.model_known || exempt || s <= LEARNING_CAP {
                    return Some(s);
                }
                reasons.push(format!(
                    "new principal in its learning period ({days:.1} days, {events} calls seen): the model alone keeps it low"
                ));
                Some(LEARNING_CAP)
            }
            Standing::Mature => {
                let n = self.novelty;
                if call.read_only && !n.has(Facet::Network) && !n.has(Facet::Client) {
                    return Some(s);
                }
                let k = [Facet::Network, Facet::Client, Facet::Region, Facet::Hour]
                    .iter()
                    .filter(|f| n.has(**f))
                    .count();
                let bump = NOVELTY_STEP * k.min(2) as f64;
                Some((s + bump).min(NOVELTY_CEILING.max(s)))
            }
        }
    }

    /// Adds the novelty reasons, replacing the model's training-time sentences on
    /// the same facet ("first `X` by this principal") with the profile's.
    pub fn add_reasons(&self, batch: &CtBatch, e: &CtEvent, reasons: &mut Vec<String>) {
        if self.novelty.is_empty() {
            return;
        }
        let name = batch.str(e.name);
        let n = self.novelty;
        let window = format!("in {DECAY_DAYS} days");
        let mut covered: Vec<String> = Vec::new();
        let mut mine = Vec::new();
        if n.has(Facet::Service) {
            let service = super::service_of(batch.str(e.source));
            mine.push(format!(
                "first use of {service} by this principal {window} (`{name}`)"
            ));
            covered.push(format!("first `{name}` by this principal"));
        } else if n.has(Facet::Action) {
            mine.push(format!("first call of `{name}` by this principal {window}"));
            covered.push(format!("first `{name}` by this principal"));
        }
        if n.has(Facet::Network) {
            let net = network_of(batch.str(e.ip));
            if name == "ConsoleLogin" {
                mine.push(format!(
                    "first login from network {net} for this principal {window}"
                ));
            } else {
                mine.push(format!(
                    "first call from network {net} by this principal {window}"
                ));
            }
            covered.push("first call by this principal from network".to_owned());
        }
        if n.has(Facet::Region) {
            mine.push(format!(
                "first use of region {} by this principal {window}",
                batch.str(e.region)
            ));
        }
        if n.has(Facet::Client) {
            mine.push(format!(
                "first use of a {} client by this principal {window}",
                e.ua.as_str()
            ));
            covered.push(format!("first use of a {} client", e.ua.as_str()));
        }
        if n.has(Facet::Hour) {
            mine.push(format!(
                "first activity at {:02}:00 UTC for this principal {window}",
                timefmt::hour_of_day(e.time)
            ));
        }
        reasons.retain(|r| !covered.iter().any(|c| r.starts_with(c.as_str())));
        reasons.extend(mine);
    }
}

/// One principal of a batch: its profile and whether the model knows it.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    profile: Option<&'a Profile>,
    model_known: bool,
}

/// The profiles of a batch's principals, looked up once, ready to judge events.
#[derive(Debug)]
pub struct BatchBaseline<'a> {
    cfg: BaselineConfig,
    principals: FxHashMap<(Sym, Sym), Entry<'a>>,
    actions: FxHashMap<(Sym, Sym), String>,
    /// Networks of every profile read, with the last day any principal used them.
    networks: FxHashMap<&'a str, i64>,
}

impl<'a> BatchBaseline<'a> {
    /// Prepares a batch. `profiles` maps profile keys to profiles (absent: none
    /// yet); `encoder` is the model's, whose training counts say which principals
    /// the model knows.
    pub fn new(
        batch: &CtBatch,
        profiles: &'a HashMap<String, Profile>,
        cfg: BaselineConfig,
        encoder: Option<&CloudTrailEncoder>,
    ) -> Self {
        let mut principals = FxHashMap::default();
        let mut actions = FxHashMap::default();
        for e in &batch.events {
            let p = batch.str(e.principal);
            if !p.is_empty() {
                principals
                    .entry((e.account, e.principal))
                    .or_insert_with(|| Entry {
                        profile: profiles.get(&profile_key(batch.str(e.account), p)),
                        model_known: encoder.is_some_and(|enc| {
                            enc.principals.get(p).copied().unwrap_or(0) >= cfg.min_events
                        }),
                    });
            }
            actions.entry((e.source, e.name)).or_insert_with(|| {
                format!(
                    "{}:{}",
                    super::service_of(batch.str(e.source)),
                    batch.str(e.name)
                )
            });
        }
        let mut networks: FxHashMap<&'a str, i64> = FxHashMap::default();
        for entry in principals.values() {
            for (net, day) in entry.profile.iter().flat_map(|p| p.networks.iter()) {
                let d = networks.entry(net).or_insert(day);
                *d = (*d).max(day);
            }
        }
        Self {
            cfg,
            principals,
            actions,
            networks,
        }
    }

    /// Whether an event's source is a public network no profile of the batch used
    /// within [`DECAY_DAYS`].
    fn foreign(&self, batch: &CtBatch, e: &CtEvent) -> bool {
        if !matches!(e.ip_class, IpClass::PublicV4 | IpClass::PublicV6) {
            return false;
        }
        let day = day_of(e.time);
        self.networks
            .get(network_of(batch.str(e.ip)))
            .is_none_or(|&d| day.saturating_sub(d) >= DECAY_DAYS)
    }

    /// The baseline's view of one event of the batch.
    pub fn event(&self, batch: &CtBatch, e: &CtEvent) -> EventBaseline {
        let Some(entry) = self.principals.get(&(e.account, e.principal)) else {
            return EventBaseline {
                standing: Standing::Untracked,
                novelty: Novelty::default(),
                model_known: false,
                foreign_network: false,
            };
        };
        let learning = |p: Option<&Profile>| Standing::Learning {
            days: p.map_or(0.0, |p| p.history_days(e.time)),
            events: p.map_or(0, |p| p.events),
        };
        let profile = match entry.profile {
            Some(p)
                if p.events >= self.cfg.min_events
                    && p.history_days(e.time) >= f64::from(self.cfg.learning_days) =>
            {
                p
            }
            other => {
                return EventBaseline {
                    standing: learning(other),
                    novelty: Novelty::default(),
                    model_known: entry.model_known,
                    foreign_network: self.foreign(batch, e),
                };
            }
        };
        EventBaseline {
            standing: Standing::Mature,
            novelty: self.novelty(profile, batch, e),
            model_known: entry.model_known,
            foreign_network: self.foreign(batch, e),
        }
    }

    fn novelty(&self, p: &Profile, batch: &CtBatch, e: &CtEvent) -> Novelty {
        let day = day_of(e.time);
        let mut n = Novelty::default();
        let ip = batch.str(e.ip);
        if !ip.is_empty() && !p.networks.seen_within(network_of(ip), day) {
            n.set(Facet::Network);
        }
        let region = batch.str(e.region);
        if !region.is_empty() && !p.regions.seen_within(region, day) {
            n.set(Facet::Region);
        }
        if !p.clients.seen_within(client_key(e.ua), day) {
            n.set(Facet::Client);
        }
        if let Some(action) = self.actions.get(&(e.source, e.name))
            && !p.actions.seen_within(action, day)
        {
            n.set(Facet::Action);
        }
        if !p
            .services
            .seen_within(super::service_of(batch.str(e.source)), day)
        {
            n.set(Facet::Service);
        }
        // An hour counts as known when it or a neighbour was active: people start
        // a little early or stay a little late.
        let h = timefmt::hour_of_day(e.time);
        let known_hour = [(h + 23) % 24, h, (h + 1) % 24]
            .iter()
            .any(|&x| p.hours.seen_within(hour_key(x), day));
        if !known_hour {
            n.set(Facet::Hour);
        }
        n
    }
}
