//! Threshold (correlation) rules: N matching events, or N distinct values of a
//! field, within a time span, per group (`group-by` fields). State lives in
//! memory for the life of the process: the CLI sees files in time order; a warm
//! Lambda keeps it between invocations, a cold start or another concurrent
//! instance starts from zero (so a burst split across instances can be missed).

use super::matcher::{Path, text};
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::collections::VecDeque;

/// Groups kept per correlation rule before stale ones are dropped.
const MAX_GROUPS: usize = 50_000;

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

#[derive(Debug, Default)]
struct Group {
    /// Times (and for value counts the values) of the counted events, oldest first.
    seen: VecDeque<(i64, Option<String>)>,
    distinct: FxHashMap<String, u32>,
    last: i64,
}

impl Group {
    fn evict(&mut self, before: i64) {
        while self.seen.front().is_some_and(|(t, _)| *t < before) {
            if let Some((_, Some(v))) = self.seen.pop_front() {
                if let Some(n) = self.distinct.get_mut(&v) {
                    *n -= 1;
                    if *n == 0 {
                        self.distinct.remove(&v);
                    }
                }
            }
        }
    }
}

/// Counting state of every correlation rule of a rule set.
#[derive(Debug, Default)]
pub(crate) struct State {
    groups: FxHashMap<u16, FxHashMap<String, Group>>,
}

impl State {
    /// Counts one event matched by a rule that `corr` references; returns a hit
    /// when the threshold is reached (the group then starts counting afresh, so a
    /// burst gives one hit per threshold's worth of events).
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
            groups.retain(|_, g| g.last >= horizon);
            if groups.len() >= MAX_GROUPS {
                groups.clear();
            }
        }
        let g = groups.entry(group.clone()).or_default();
        g.evict(time - corr.timespan);
        g.last = g.last.max(time);
        match &corr.kind {
            CorrKind::EventCount => g.seen.push_back((time, None)),
            CorrKind::ValueCount(fields) => {
                for f in fields {
                    for v in f.values(record) {
                        if v.is_null() {
                            continue;
                        }
                        let v = text(v).into_owned();
                        *g.distinct.entry(v.clone()).or_insert(0) += 1;
                        g.seen.push_back((time, Some(v)));
                    }
                }
            }
        }
        let count = match corr.kind {
            CorrKind::EventCount => g.seen.len(),
            CorrKind::ValueCount(_) => g.distinct.len(),
        } as u64;
        if count < corr.threshold {
            return None;
        }
        let window_start = g.seen.front().map_or(time, |(t, _)| *t);
        groups.remove(&group);
        Some(CorrelationHit {
            rule: index,
            group,
            window_start,
            window_end: time,
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
