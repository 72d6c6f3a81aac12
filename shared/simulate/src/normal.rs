//! Normal traffic, one UTC day at a time. Each principal plans "units" of activity
//! (a console page, a CI run, a monitoring poll) per source day from its own random
//! stream; a day renders the units that reach into it and keeps the records that fall
//! inside it, so a unit crossing midnight is split exactly, whatever the day order.

use super::agents::fill;
use super::ids::{SimRng, normal, stream, sub_seed};
use super::population::{Class, Kind, Principal};
use super::record::{Actor, Call, Event, Identity, render};
use super::timefmt::{DAY, weekday};
use super::world::World;
use super::{human, machines, pipelines};
use rand::{Rng, SeedableRng};

/// Longest a unit may run; units starting this long before a day are rendered for it.
const MARGIN: i64 = 3600;

/// Collects rendered records of one day (or one scenario), keeping those in range.
pub(crate) struct Sink<'w> {
    pub world: &'w World,
    pub events: Vec<Event>,
    lo: i64,
    hi: i64,
    order: u64,
    seq: u64,
    label: u8,
    scenario: &'static str,
}

/// A caller as one record sees it.
pub(crate) struct Who<'a> {
    pub identity: &'a Identity,
    pub ip: &'a str,
    /// User agent, possibly with `{cmd}`/`{svc}` placeholders.
    pub ua: &'a str,
    pub console: bool,
    pub vpce: Option<&'a str>,
}

impl<'w> Sink<'w> {
    /// A sink keeping records with `lo <= eventTime < hi`.
    pub fn new(world: &'w World, lo: i64, hi: i64, label: u8, scenario: &'static str) -> Self {
        Self {
            world,
            events: Vec::new(),
            lo,
            hi,
            order: 0,
            seq: 0,
            label,
            scenario,
        }
    }

    /// Starts a unit: records keep the order they are pushed in within it.
    pub fn unit(&mut self, order: u64) {
        self.order = order << 16;
        self.seq = 0;
    }

    /// Renders one record. It is always rendered, so the random stream advances the
    /// same way whether or not the record is kept.
    pub fn push(
        &mut self,
        t: i64,
        region: &str,
        who: &Who<'_>,
        call: &Call,
        rng: &mut SimRng,
    ) -> Result<(), serde_json::Error> {
        let ua = fill(who.ua, call.source, call.name);
        let actor = Actor {
            identity: who.identity,
            ip: who.ip,
            ua: &ua,
            console: who.console,
            vpce: who.vpce,
        };
        let mut ev = render(&self.world.account, t, region, &actor, call, rng)?;
        self.seq += 1;
        if t >= self.lo && t < self.hi {
            ev.order = self.order | (self.seq & 0xFFFF);
            ev.label = self.label;
            ev.scenario = self.scenario;
            self.events.push(ev);
        }
        Ok(())
    }
}

/// Volume scale that makes a week of traffic average `events_per_day` a day.
fn week_norm(world: &World) -> f64 {
    let total: f64 = world
        .principals
        .iter()
        .map(|p| p.share * (0..7).map(|d| p.class.day_factor(d)).sum::<f64>() / 7.0)
        .sum();
    if total > 0.0 { 1.0 / total } else { 0.0 }
}

/// Expected records of principal `p` on the day starting at `day_start`.
fn target(p: &Principal, day_start: i64, events_per_day: f64, norm: f64) -> f64 {
    events_per_day * norm * p.share * p.class.day_factor(weekday(day_start))
}

/// A time of day drawn from a daytime-peaking curve (UTC), for workloads.
pub(crate) fn diurnal(rng: &mut SimRng, day_start: i64) -> i64 {
    loop {
        let h: f64 = rng.random::<f64>() * 24.0;
        let intensity = 1.0 + 0.6 * ((h - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        if rng.random::<f64>() * 1.6 < intensity {
            return day_start + (h * 3600.0) as i64;
        }
    }
}

/// A time in (UTC) business hours, for pipelines triggered by people.
pub(crate) fn business(rng: &mut SimRng, day_start: i64) -> i64 {
    let h = normal(rng, 14.5, 3.0).clamp(0.0, 23.99);
    day_start + (h * 3600.0) as i64
}

/// `n` unit counts drawn around `mean` (never negative).
pub(crate) fn count(rng: &mut SimRng, mean: f64) -> usize {
    let jitter = rng.random_range(0.85..1.15);
    let x = mean * jitter;
    let base = x.floor();
    let extra = usize::from(rng.random::<f64>() < x - base);
    base as usize + extra
}

/// Plans unit start times of principal `pi` for source day `day_start`.
fn plan(world: &World, pi: usize, p: &Principal, day_start: i64, target: f64) -> Vec<i64> {
    let mut rng = stream(world.seed, "plan", ((pi as u64) << 40) ^ day_start as u64);
    let mut times = match p.kind {
        Kind::Human => human::plan(p, day_start, target, &mut rng),
        Kind::Terraform
        | Kind::Deploy
        | Kind::Backup
        | Kind::Portal
        | Kind::DrReader
        | Kind::OnPrem => pipelines::plan(p, day_start, target, &mut rng),
        _ => machines::plan(p, day_start, target, &mut rng),
    };
    times.sort_unstable();
    times
}

#[expect(
    clippy::too_many_arguments,
    reason = "one unit needs its whole context"
)]
fn render_unit(
    world: &World,
    pi: usize,
    p: &Principal,
    day_start: i64,
    k: usize,
    t: i64,
    first: i64,
    rng: &mut SimRng,
    sink: &mut Sink<'_>,
) -> Result<(), serde_json::Error> {
    match p.kind {
        Kind::Human => human::render(world, pi, p, day_start, k, t, first, rng, sink),
        Kind::Terraform
        | Kind::Deploy
        | Kind::Backup
        | Kind::Portal
        | Kind::DrReader
        | Kind::OnPrem => pipelines::render(world, pi, p, k, t, rng, sink),
        _ => machines::render(world, pi, p, k, t, rng, sink),
    }
}

/// Renders the normal records of the UTC day `[day_start, day_start + 1 day)`,
/// clipped to the run's span `[span.0, span.1)`.
pub(crate) fn day_events(
    world: &World,
    events_per_day: u32,
    day_start: i64,
    span: (i64, i64),
) -> Result<Vec<Event>, serde_json::Error> {
    let norm = week_norm(world);
    let lo = day_start.max(span.0);
    let hi = (day_start + DAY).min(span.1);
    let mut sink = Sink::new(world, lo, hi, 0, "");
    for (pi, p) in world.principals.iter().enumerate() {
        // People's local days reach into the neighbouring UTC days.
        let sources: &[i64] = if p.class == Class::Human {
            &[-1, 0, 1]
        } else {
            &[-1, 0]
        };
        for off in sources {
            let source = day_start + off * DAY;
            let times = plan(
                world,
                pi,
                p,
                source,
                target(p, source, f64::from(events_per_day), norm),
            );
            for (k, &t) in times.iter().enumerate() {
                if t < lo - MARGIN || t >= hi {
                    continue;
                }
                let unit = sub_seed(
                    world.seed,
                    "unit",
                    ((pi as u64) << 48) ^ ((source.rem_euclid(1 << 32) as u64) << 16) ^ k as u64,
                );
                let mut rng = SimRng::seed_from_u64(unit);
                sink.unit(
                    ((pi as u64) << 40)
                        ^ ((source.div_euclid(DAY).rem_euclid(256) as u64) << 32)
                        ^ k as u64,
                );
                render_unit(world, pi, p, source, k, t, times[0], &mut rng, &mut sink)?;
            }
        }
    }
    Ok(sink.events)
}
