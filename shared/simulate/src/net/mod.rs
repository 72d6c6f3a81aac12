//! Deterministic VPC Flow Logs and web access logs, delivered as CloudWatch Logs
//! subscription payloads exactly as a Lambda receives them, with injected attacks,
//! hard negatives and a label for every log event.
//!
//! [`write_dir`] writes `events.jsonl` (one Lambda event per line:
//! `{"awslogs":{"data":"<base64(gzip(message))>"}}`, starting with a
//! `CONTROL_MESSAGE` per log group) and `labels.csv` (`event_id,label,scenario`, one
//! row per log event, `event_id` being the CloudWatch Logs event id). Its parts:
//! the payload encoding (`cwl`), log lines and streams (`line`), access logs (`site`,
//! `access`, `access_normal`, `access_scenarios`) and flow logs (`network`,
//! `vpcflow`, `flow_normal`, `flow_scenarios`).
//!
//! The same [`NetSimConfig`] always gives byte-identical files. Traffic is produced
//! one hour at a time from its own seeded stream, so memory stays bounded by an
//! hour of lines plus the injected scenarios.

mod access;
mod access_normal;
mod access_scenarios;
mod cwl;
mod flow_normal;
mod flow_scenarios;
mod ip;
mod line;
mod network;
mod scenario;
mod site;
mod vpcflow;

pub use super::cloudtrail::Label;
pub use scenario::{NetScenario, UnknownNetScenario};

use crate::ids::stream;
use crate::timefmt::{DAY, civil, weekday};
use line::{Line, Sink, Stream};
use network::Network;
use site::Site;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// Which logs to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetSource {
    /// VPC Flow Logs (default version-2 format) in `/aws/vpc/flowlogs/<vpc>`.
    VpcFlow,
    /// nginx and Express access logs in `/ecs/nginx-web`, `/ecs/express-api` and
    /// `/ecs/orders-api`.
    AccessLog,
}

impl NetSource {
    /// The name `--source` takes: `vpcflow` or `access-log`.
    pub fn name(self) -> &'static str {
        match self {
            NetSource::VpcFlow => "vpcflow",
            NetSource::AccessLog => "access-log",
        }
    }

    /// Ordinary log events per day when none is given.
    pub fn default_events_per_day(self) -> u32 {
        100_000
    }
}

impl fmt::Display for NetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NetSource {
    type Err = NetSimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "vpcflow" | "vpc-flow" | "flow" | "flowlogs" => Ok(NetSource::VpcFlow),
            "access-log" | "accesslog" | "access" | "web" => Ok(NetSource::AccessLog),
            _ => Err(NetSimError::Config(format!("unknown source {s:?}"))),
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSimConfig {
    /// Flow logs or access logs.
    pub source: NetSource,
    /// Seed of every random choice of the run (the site and network derive from the account).
    pub seed: u64,
    /// UTC days simulated from `start`.
    pub days: u32,
    /// First second of the span (epoch seconds, a multiple of 3600); default Monday
    /// 2024-03-04T00:00:00Z.
    pub start: i64,
    /// The 12-digit account id (the payloads' `owner`).
    pub account: String,
    /// Ordinary log events per day, averaged over a week; hours follow the audience's
    /// day and scenarios come on top.
    pub events_per_day: u32,
    /// Scenario instances to inject (all of one source); one listed twice happens twice.
    pub scenarios: Vec<NetScenario>,
}

impl NetSimConfig {
    /// One day of `source` with every scenario, seed 1.
    pub fn new(source: NetSource) -> Self {
        Self {
            source,
            seed: 1,
            days: 1,
            start: 1_709_510_400,
            account: "123456789012".to_owned(),
            events_per_day: source.default_events_per_day(),
            scenarios: NetScenario::all(source),
        }
    }
}

/// Counts of what a run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetSummary {
    /// Lambda events written (data and control messages).
    pub payloads: usize,
    /// Of which `CONTROL_MESSAGE`s.
    pub control_messages: usize,
    /// Log events in data messages (one label row each).
    pub events: usize,
    /// Log events labelled 1.
    pub attack_events: usize,
    /// Bytes of `events.jsonl` (Lambda events and their newlines).
    pub bytes: u64,
    /// Bytes of the decoded subscription messages.
    pub decoded_bytes: u64,
    /// Log events per scenario name, in configuration order.
    pub scenarios: Vec<(String, usize)>,
}

/// Why a run could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum NetSimError {
    /// The configuration cannot describe a run.
    #[error("invalid simulation config: {0}")]
    Config(String),
    /// A payload could not be compressed.
    #[error("compressing a payload failed")]
    Compress(#[source] std::io::Error),
}

impl From<NetSimError> for std::io::Error {
    fn from(e: NetSimError) -> Self {
        match e {
            NetSimError::Config(_) => std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            other => std::io::Error::other(other),
        }
    }
}

fn validate(cfg: &NetSimConfig) -> Result<(), NetSimError> {
    if cfg.days == 0 {
        return Err(NetSimError::Config("days must be at least 1".into()));
    }
    if cfg.account.len() != 12 || !cfg.account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NetSimError::Config(format!(
            "account {:?} is not a 12-digit id",
            cfg.account
        )));
    }
    if cfg.start.rem_euclid(3600) != 0 {
        return Err(NetSimError::Config(format!(
            "start {} is not on an hour boundary",
            cfg.start
        )));
    }
    if let Some(s) = cfg.scenarios.iter().find(|s| s.source() != cfg.source) {
        return Err(NetSimError::Config(format!(
            "scenario {s} belongs to --source {}, not {}",
            s.source(),
            cfg.source
        )));
    }
    Ok(())
}

/// The simulated estate of one source.
enum Estate {
    Access(Site),
    Flow(Network),
}

impl Estate {
    fn streams(&self) -> &[Stream] {
        match self {
            Estate::Access(s) => &s.streams,
            Estate::Flow(n) => &n.streams,
        }
    }

    fn filter(&self) -> &'static str {
        match self {
            Estate::Access(_) => site::FILTER,
            Estate::Flow(_) => network::FILTER,
        }
    }

    /// How long one stream's events gather before CloudWatch hands them on: the
    /// container log driver flushes every 5 s; flow logs publish each minute's records.
    fn window_ms(&self) -> i64 {
        match self {
            Estate::Access(_) => 5_000,
            Estate::Flow(_) => 60_000,
        }
    }

    fn hour(&self, seed: u64, index: u64, start_ms: i64, budget: usize, sink: &mut Sink) {
        match self {
            Estate::Access(s) => {
                let mut rng = stream(seed, "access-hour", index);
                access_normal::hour(s, &mut rng, start_ms, budget, sink);
            }
            Estate::Flow(n) => {
                let mut rng = stream(seed, "flow-hour", index);
                flow_normal::hour(n, &mut rng, start_ms, budget, sink);
            }
        }
    }

    fn render(&self, seed: u64, s: NetScenario, n: usize, span_ms: (i64, i64)) -> Vec<Line> {
        let unit = (1 << 30) | ((s as u64) << 16) | n as u64;
        let mut sink = Sink::new(s.label(), s.name(), unit);
        let mut rng = stream(seed, s.name(), n as u64);
        match self {
            Estate::Access(site) => access_scenarios::render(site, s, &mut rng, span_ms, &mut sink),
            Estate::Flow(net) => flow_scenarios::render(net, s, &mut rng, span_ms, &mut sink),
        }
        sink.lines
    }
}

/// Weekday traffic share: the shop is a little busier at weekends; the mean is 1.
fn day_factor(day_start: i64) -> f64 {
    if weekday(day_start) >= 5 { 1.1 } else { 0.96 }
}

/// Turns lines into payloads and labels.
struct Deliver<'a, F, G> {
    estate: &'a Estate,
    owner: &'a str,
    enc: cwl::Encoder,
    json: String,
    event: String,
    id: String,
    emit: F,
    label: G,
    summary: NetSummary,
    per_scenario: BTreeMap<&'static str, usize>,
}

impl<E, F, G> Deliver<'_, F, G>
where
    E: From<NetSimError>,
    F: FnMut(&str) -> Result<(), E>,
    G: FnMut(Label) -> Result<(), E>,
{
    fn send(&mut self) -> Result<(), E> {
        self.event.clear();
        self.enc
            .lambda_event(self.json.as_bytes(), &mut self.event)
            .map_err(NetSimError::Compress)?;
        self.summary.payloads += 1;
        self.summary.bytes += self.event.len() as u64 + 1;
        self.summary.decoded_bytes += self.json.len() as u64;
        (self.emit)(&self.event)
    }

    fn control(&mut self, ms: i64) -> Result<(), E> {
        self.json = cwl::control_message(ms);
        self.summary.control_messages += 1;
        self.send()
    }

    /// Delivers `lines` (all before the end of the current hour): each stream's lines
    /// of one window go out together, split where a payload would pass its limits.
    fn lines(&mut self, mut lines: Vec<Line>) -> Result<(), E> {
        let w = self.estate.window_ms();
        lines.sort_unstable_by_key(|l| (l.ms.div_euclid(w), l.stream, l.ms, l.order));
        for group in
            lines.chunk_by(|a, b| a.ms.div_euclid(w) == b.ms.div_euclid(w) && a.stream == b.stream)
        {
            let st = &self.estate.streams()[group[0].stream as usize];
            let mut i = 0;
            while i < group.len() {
                self.json.clear();
                cwl::data_header(
                    self.owner,
                    &st.group,
                    &st.name,
                    self.estate.filter(),
                    &mut self.json,
                );
                let mut n = 0;
                while i < group.len() && n < cwl::MAX_EVENTS {
                    let l = &group[i];
                    let mark = self.json.len();
                    if n > 0 {
                        self.json.push(',');
                    }
                    self.id.clear();
                    cwl::event_id(l.ms, st.salt, self.summary.events as u64, &mut self.id);
                    cwl::log_event(&self.id, l.ms, &l.message, &mut self.json);
                    if n > 0 && self.json.len() + 2 > cwl::MAX_PAYLOAD_BYTES {
                        self.json.truncate(mark);
                        break;
                    }
                    self.summary.events += 1;
                    if l.label == 1 {
                        self.summary.attack_events += 1;
                    }
                    if !l.scenario.is_empty() {
                        *self.per_scenario.entry(l.scenario).or_insert(0) += 1;
                    }
                    (self.label)(Label {
                        event_id: self.id.clone(),
                        label: l.label,
                        scenario: l.scenario.to_owned(),
                    })?;
                    n += 1;
                    i += 1;
                }
                self.json.push_str("]}");
                self.send()?;
            }
        }
        Ok(())
    }
}

/// Generates everything: each Lambda event (without its newline) goes to `emit` in
/// delivery order, each log event's label to `label`. Errors of either callback
/// stop the run and are returned as they are.
pub fn generate<E: From<NetSimError>>(
    cfg: &NetSimConfig,
    emit: impl FnMut(&str) -> Result<(), E>,
    label: impl FnMut(Label) -> Result<(), E>,
) -> Result<NetSummary, E> {
    validate(cfg)?;
    let estate = match cfg.source {
        NetSource::AccessLog => Estate::Access(Site::new(cfg.seed, &cfg.account)),
        NetSource::VpcFlow => Estate::Flow(Network::new(&cfg.account)),
    };
    let span = (
        cfg.start * 1000,
        (cfg.start + i64::from(cfg.days) * DAY) * 1000,
    );
    let mut injected = Vec::new();
    let mut instances: BTreeMap<NetScenario, usize> = BTreeMap::new();
    for s in &cfg.scenarios {
        let n = instances.entry(*s).or_insert(0);
        injected.extend(estate.render(cfg.seed, *s, *n, span));
        *n += 1;
    }
    injected.retain(|l| l.ms >= span.0 && l.ms < span.1);
    injected.sort_unstable_by_key(|l| (l.ms, l.order));
    let mut d = Deliver {
        estate: &estate,
        owner: &cfg.account,
        enc: cwl::Encoder::new(),
        json: String::with_capacity(1 << 16),
        event: String::with_capacity(1 << 16),
        id: String::with_capacity(64),
        emit,
        label,
        summary: NetSummary::default(),
        per_scenario: BTreeMap::new(),
    };
    // The subscription filters were created a minute before the span.
    let mut groups: Vec<&str> = estate.streams().iter().map(|s| s.group.as_str()).collect();
    groups.dedup();
    for (i, _) in groups.iter().enumerate() {
        d.control(span.0 - 60_000 + i as i64 * 1_500)?;
    }
    let mut pending: Vec<Line> = Vec::new();
    let mut next = 0;
    let per_hour = f64::from(cfg.events_per_day) / 24.0;
    for h in 0..u64::from(cfg.days) * 24 {
        let h_start = span.0 + h as i64 * 3_600_000;
        let h_end = h_start + 3_600_000;
        let secs = h_start / 1000;
        let rate = per_hour * line::diurnal(civil(secs).hour) * day_factor(secs);
        let mut sink = Sink::new(0, "", h);
        estate.hour(cfg.seed, h, h_start, rate.round() as usize, &mut sink);
        pending.append(&mut sink.lines);
        let upto = next + injected[next..].partition_point(|l| l.ms < h_end);
        pending.extend(injected[next..upto].iter().cloned());
        next = upto;
        let (ready, rest): (Vec<Line>, Vec<Line>) = pending.into_iter().partition(|l| l.ms < h_end);
        pending = rest;
        if h_end >= span.1 {
            pending.clear();
        }
        d.lines(ready)?;
    }
    let mut summary = d.summary;
    let mut seen = std::collections::BTreeSet::new();
    for s in &cfg.scenarios {
        if seen.insert(s.name()) {
            summary.scenarios.push((
                s.name().to_owned(),
                d.per_scenario.get(s.name()).copied().unwrap_or(0),
            ));
        }
    }
    Ok(summary)
}

/// Writes `dir/events.jsonl` (one Lambda event per line) and `dir/labels.csv`
/// (`event_id,label,scenario`, one row per log event).
pub fn write_dir(cfg: &NetSimConfig, dir: &Path) -> std::io::Result<NetSummary> {
    std::fs::create_dir_all(dir)?;
    let mut events = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dir.join("events.jsonl"))?,
    );
    let mut labels = std::io::BufWriter::new(std::fs::File::create(dir.join("labels.csv"))?);
    labels.write_all(b"event_id,label,scenario\n")?;
    let summary = generate(
        cfg,
        |e: &str| -> std::io::Result<()> {
            events.write_all(e.as_bytes())?;
            events.write_all(b"\n")
        },
        |l: Label| -> std::io::Result<()> {
            writeln!(labels, "{},{},{}", l.event_id, l.label, l.scenario)
        },
    )?;
    events.flush()?;
    labels.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests;
