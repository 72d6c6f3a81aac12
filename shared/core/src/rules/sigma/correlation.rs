//! Threshold (correlation) rules: N matching events, or N distinct values of a
//! field, within a time span, per group (`group-by` fields). State lives in
//! memory for the life of the process: the CLI sees files in time order; a warm
//! Lambda keeps it between invocations, a cold start or another concurrent
//! instance starts from zero (so a burst split across instances can be missed).

use super::matcher::{Path, text};
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::collections::BTreeMap;

/// Groups kept per correlation rule before stale ones are dropped.
const MAX_GROUPS: usize = 50_000;

/// Event ids remembered per group. A flood beyond this still counts (and fires);
/// only its redelivery could count twice.
const MAX_REMEMBERED: usize = 100_000;

/// What is counted.
#[derive(Debug)]
pub(crate) enum CorrKind {
    /// Matching events.
    EventCount,
    /// Distinct values of these fields (all listed fields' values count).
    ValueCount(Vec<Path>),
}

/// A compiled correlation rule.
#[derive(Debug)]
pub(crate) struct Correlation {
    pub(crate) kind: CorrKind,
    /// Referenced rules as written (names or ids).
    pub(crate) rule_refs: Vec<String>,
    /// Referenced detection rules, by index, once linked.
    pub(crate) rules: Vec<u16>,
    pub(crate) group_by: Vec<Path>,
    /// Window in seconds.
    pub(crate) timespan: i64,
    /// Fires when the count reaches this.
    pub(crate) threshold: u64,
    /// Whether the referenced rules also alert on their own.
    pub(crate) generate: bool,
}

/// A correlation rule that reached its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationHit {
    /// Index of the correlation rule in its [`super::RuleSet`].
    pub rule: u16,
    /// The group: `field=value` pairs joined by `, ` (empty without `group-by`).
    pub group: String,
    /// Time of the first counted event, epoch seconds.
    pub window_start: i64,
    /// Time of the event that reached the threshold, epoch seconds.
    pub window_end: i64,
    /// Events (or distinct values) counted.
    pub count: u64,
    /// The rule's time span, seconds.
    pub timespan: i64,
}

/// The counted events of one group, by time. Files and payloads do not arrive in
/// time order (CloudTrail delivers each region's files separately, Lambda runs them
/// concurrently, a replay comes late), so the window is a time range around each
/// new event, not "the last N arrivals".
///
/// The ids of the events counted live in the same per-second slots as their
/// counts and are dropped with them: an event is recognised as already counted for
/// exactly as long as its time can still be part of a window, whatever happens to
/// other groups meanwhile (an object replayed hours later counts nothing twice).
#[derive(Debug, Default)]
struct Group {
    /// Event time → what was counted at that second.
    seen: BTreeMap<i64, Slot>,
    /// Ids remembered in `seen`.
    remembered: usize,
    /// Newest event time seen; events older than twice the span before it go.
    newest: i64,
}

/// One second of a group.
#[derive(Debug, Default)]
struct Slot {
    /// The values still counted (`None` for event counts); emptied when a hit
    /// spends them.
    counted: Vec<Option<String>>,
    /// Ids of every event counted at this second, spent ones included.
    ids: Vec<Box<str>>,
}

impl Group {
    /// The fullest window of `span` seconds that contains `time`: its count (events,
    /// or distinct values), first and last event time. A sweep over the events
    /// within a span of `time`, starting a window at each of them.
    fn fullest(&self, time: i64, span: i64, distinct: bool) -> (u64, i64, i64) {
        let near: Vec<(i64, &[Option<String>])> = self
            .seen
            .range(time - span..=time + span)
            .filter(|(_, slot)| !slot.counted.is_empty())
            .map(|(t, slot)| (*t, slot.counted.as_slice()))
            .collect();
        let mut best = (0u64, time, time);
        let mut values: FxHashMap<&str, u32> = FxHashMap::default();
        let mut events = 0u64;
        let mut end = 0usize;
        for start in 0..near.len() {
            let (s, _) = near[start];
            if s > time {
                break;
            }
            while end < near.len() && near[end].0 <= s + span {
                for v in near[end].1 {
                    events += 1;
                    if let Some(v) = v {
                        *values.entry(v.as_str()).or_insert(0) += 1;
                    }
                }
                end += 1;
            }
            let last = near[end - 1].0;
            if last >= time {
                let n = if distinct {
                    values.len() as u64
                } else {
                    events
                };
                if n > best.0 {
                    best = (n, s, last);
                }
            }
            for v in near[start].1 {
                events -= 1;
                if let Some(v) = v {
                    if let Some(c) = values.get_mut(v.as_str()) {
                        *c -= 1;
                        if *c == 0 {
                            values.remove(v.as_str());
                        }
                    }
                }
            }
        }
        best
    }
}

/// Counting state of every correlation rule of a rule set.
#[derive(Debug, Default)]
pub(crate) struct State {
    groups: FxHashMap<u16, FxHashMap<String, Group>>,
}

impl State {
    /// Counts one event matched by a rule that `corr` references; returns a hit
    /// when the threshold is reached (the counted events are then spent, so a
    /// burst gives one hit per threshold's worth of events). An event whose
    /// `eventID` the group has already counted is ignored.
    pub(crate) fn observe(
        &mut self,
        index: u16,
        corr: &Correlation,
        record: &Value,
        time: i64,
    ) -> Option<CorrelationHit> {
        let group = group_key(&corr.group_by, record);
        let groups = self.groups.entry(index).or_default();
        if groups.len() >= MAX_GROUPS && !groups.contains_key(&group) {
            let horizon = time - corr.timespan;
            groups.retain(|_, g| g.newest >= horizon);
            if groups.len() >= MAX_GROUPS {
                groups.clear();
            }
        }
        let g = groups.entry(group.clone()).or_default();
        if g.seen.is_empty() {
            g.newest = time;
        }
        g.newest = g.newest.max(time);
        // Counts and ids go together: twice the span, as a redelivered object
        // arrives after newer ones.
        let keep_from = g.newest - 2 * corr.timespan;
        if g.seen
            .first_key_value()
            .is_some_and(|(t, _)| *t < keep_from)
        {
            let kept = g.seen.split_off(&keep_from);
            let dropped = std::mem::replace(&mut g.seen, kept);
            let forgotten: usize = dropped.values().map(|s| s.ids.len()).sum();
            g.remembered = g.remembered.saturating_sub(forgotten);
        }
        if time < keep_from {
            return None;
        }
        let id = record.get("eventID").and_then(Value::as_str);
        let slot = g.seen.entry(time).or_default();
        if let Some(id) = id {
            if slot.ids.iter().any(|seen| **seen == *id) {
                return None;
            }
            if g.remembered < MAX_REMEMBERED {
                slot.ids.push(id.into());
                g.remembered += 1;
            }
        }
        match &corr.kind {
            CorrKind::EventCount => slot.counted.push(None),
            CorrKind::ValueCount(fields) => {
                for f in fields {
                    for v in f.values(record) {
                        if !v.is_null() {
                            slot.counted.push(Some(text(v).into_owned()));
                        }
                    }
                }
            }
        }
        let distinct = matches!(corr.kind, CorrKind::ValueCount(_));
        let (count, window_start, window_end) = g.fullest(time, corr.timespan, distinct);
        if count < corr.threshold {
            return None;
        }
        // Counted events are spent (their ids stay remembered).
        for (_, slot) in g.seen.range_mut(window_start..=window_end) {
            slot.counted.clear();
        }
        Some(CorrelationHit {
            rule: index,
            group,
            window_start,
            window_end,
            count,
            timespan: corr.timespan,
        })
    }
}

fn group_key(fields: &[Path], record: &Value) -> String {
    let mut key = String::new();
    for f in fields {
        if !key.is_empty() {
            key.push_str(", ");
        }
        key.push_str(&f.full);
        key.push('=');
        let vals = f.values(record);
        let mut first = true;
        for v in vals.iter().filter(|v| !v.is_null()) {
            if !first {
                key.push('|');
            }
            first = false;
            key.push_str(&text(v));
        }
    }
    key
}
