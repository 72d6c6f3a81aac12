//! Sigma rules for CloudTrail: detection rules (selections, modifiers, conditions)
//! and correlation rules (`event_count`, `value_count` over a time span, grouped).
//!
//! Why our own engine: the maintained crates (rsigma 0.22) pull in about 90
//! crates (a tree-sitter C build, pest, chrono, a second YAML stack) for a feature
//! set we use a fraction of, and their event view is a generic JSON value anyway.
//! This one is small, reads YAML with `serde_norway`, and indexes rules by the
//! `eventName`/`eventSource` values they require.
//!
//! Cost model: for each event, the rules that could match its (`eventSource`,
//! `eventName`) are looked up (cached per distinct pair in a batch). Only when that
//! list is not empty is the record parsed into a `serde_json::Value` and the
//! candidates evaluated. A rule with no `eventName`/`eventSource` constraint in its
//! positive selections (say, only `userIdentity.type: Root`) is a candidate for
//! every event, and then every event pays for the generic parse: keep such rules few.
//!
//! Supported: field maps and lists of maps, keyword lists, dotted paths into nested
//! JSON (arrays searched element by element), case-insensitive text with `*`/`?`
//! wildcards, `null`, the modifiers `contains`, `startswith`, `endswith`, `all`,
//! `re` (with `i`, `m`, `s`), `fieldref`, `exists`, `cidr`, `gt`/`gte`/`lt`/`lte`,
//! and conditions with `and`/`or`/`not`, parentheses, `1 of x*`, `all of x*`,
//! `1 of them`, `all of them`, or a list of conditions.

mod compile;
mod condition;
mod correlation;
mod matcher;
pub mod yaml;

pub use correlation::CorrelationHit;

use compile::{Body, KeyField, Pred, Search};
use correlation::State;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The threshold rules shipped with trailhound, in Sigma correlation format.
const BUILTIN: &[(&str, &str)] = &[
    (
        "builtin/console_brute_force.yml",
        include_str!("builtin/console_brute_force.yml"),
    ),
    (
        "builtin/secrets_harvest.yml",
        include_str!("builtin/secrets_harvest.yml"),
    ),
    (
        "builtin/mass_deletion.yml",
        include_str!("builtin/mass_deletion.yml"),
    ),
];

/// Sigma `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium` (also when a rule has no level).
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    /// Parses a Sigma level name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The severity score of a hit at this level.
    pub fn severity(self) -> f64 {
        match self {
            Level::Informational => 2.0,
            Level::Low => 3.0,
            Level::Medium => 5.5,
            Level::High => 7.5,
            Level::Critical => 9.5,
        }
    }

    /// The Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// Whether a rule matches single events or counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A detection rule: one event matches or not.
    Detection,
    /// A correlation (threshold) rule over detection rules' matches.
    Correlation,
}

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Shipped with trailhound.
    BuiltIn,
    /// Loaded from this file.
    File(PathBuf),
}

/// What is known about a loaded rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// The rule's `id` (or `<file stem>` / `<file stem>#<n>` without one).
    pub id: String,
    /// The rule's `name`, which correlation rules may reference.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Level,
    /// Severity score from the level.
    pub severity: f64,
    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, upper case.
    pub techniques: Vec<String>,
    /// The ATT&CK version the tags were written against (`attack_version`), if given.
    pub attack_version: Option<String>,
    /// Detection or correlation.
    pub kind: RuleKind,
    /// Only feeds correlation rules (referenced without `generate: true`).
    pub silent: bool,
    /// Built in or from a file.
    pub origin: Origin,
    /// The file it was read from (`builtin/<name>.yml` for built-in ones).
    pub file: String,
}

impl SigmaRule {
    /// The stem of the file it was read from (`console_brute_force`): names the
    /// folder of its test events.
    pub fn file_stem(&self) -> &str {
        Path::new(&self.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(&self.file)
    }
}

impl SigmaRule {
    /// The first technique, if any.
    pub fn technique(&self) -> Option<&str> {
        self.techniques.first().map(String::as_str)
    }
}

/// A rule file (or document) that could not be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct LoadError {
    /// The file (with `#n` for the n-th document of a multi-document file).
    pub file: String,
    /// Why.
    pub reason: String,
}

/// Matches of one event: detection rules that alert, and thresholds reached.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EventHits {
    /// Alerting detection rules that matched, by index.
    pub rules: Vec<u16>,
    /// Correlation rules that reached their threshold with this event.
    pub correlations: Vec<CorrelationHit>,
}

/// A loaded set of Sigma rules, with the counting state of its correlation rules.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Arc<SigmaRule>>,
    bodies: Vec<Body>,
    /// For each detection rule, the correlation rules fed by its matches.
    feeds: Vec<Vec<u16>>,
    state: Mutex<State>,
}

/// Collects rule sources, then compiles and links them in one go.
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    docs: Vec<(String, Origin, String)>,
    errors: Vec<LoadError>,
}

impl RuleSetBuilder {
    /// Adds the built-in threshold rules.
    pub fn builtin(mut self) -> Self {
        for (name, text) in BUILTIN {
            self.docs
                .push(((*name).to_owned(), Origin::BuiltIn, (*text).to_owned()));
        }
        self
    }

    /// Adds one YAML text; `name` names it in errors and fallback ids.
    pub fn yaml(mut self, name: &str, text: &str) -> Self {
        self.docs.push((
            name.to_owned(),
            Origin::File(PathBuf::from(name)),
            text.to_owned(),
        ));
        self
    }

    /// Adds every `*.yml`/`*.yaml` file under `dir` (recursively, in path order).
    /// An unreadable directory or file is a load error.
    pub fn dir(mut self, dir: &Path) -> Self {
        let mut files = Vec::new();
        self.errors.extend(walk(dir, &mut files));
        for f in files {
            match yaml::read_capped(&f) {
                Ok(text) => self
                    .docs
                    .push((f.display().to_string(), Origin::File(f), text)),
                Err(e) => self.errors.push(LoadError {
                    file: f.display().to_string(),
                    reason: format!("cannot read: {e}"),
                }),
            }
        }
        self
    }

    /// Compiles everything; rules that fail are reported, the rest load.
    pub fn build(self) -> (RuleSet, Vec<LoadError>) {
        let mut errors = self.errors;
        let mut compiled = Vec::new();
        for (name, origin, text) in &self.docs {
            let stem = Path::new(name)
                .file_stem()
                .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned());
            // Size, depth and aliases first: the parser is quadratic in depth and
            // expands aliases by copying.
            if let Err(e) = yaml::check(text) {
                errors.push(LoadError {
                    file: name.clone(),
                    reason: format!("refused before parsing: {e}"),
                });
                continue;
            }
            // A YAML error ends the file: the document iterator would repeat it.
            let mut docs = Vec::new();
            let mut yaml_error = None;
            for de in serde_norway::Deserializer::from_str(text) {
                match serde_norway::Value::deserialize(de) {
                    Ok(v) => docs.push(v),
                    Err(e) => {
                        yaml_error = Some(e);
                        break;
                    }
                }
            }
            let many = docs.len() > 1;
            if let Some(e) = yaml_error {
                let n = docs.len() + 1;
                errors.push(LoadError {
                    file: if n > 1 {
                        format!("{name}#{n}")
                    } else {
                        name.clone()
                    },
                    reason: format!("not valid YAML: {e}"),
                });
            }
            for (n, doc) in docs.into_iter().enumerate() {
                if doc.is_null() {
                    continue;
                }
                let label = if many {
                    format!("{name}#{}", n + 1)
                } else {
                    name.clone()
                };
                let fallback = if many {
                    format!("{stem}#{}", n + 1)
                } else {
                    stem.clone()
                };
                match compile::compile(&doc, &fallback) {
                    Ok(c) => compiled.push((label, name.clone(), origin.clone(), c)),
                    Err(reason) => errors.push(LoadError {
                        file: label,
                        reason,
                    }),
                }
            }
        }
        let set = link(compiled, &mut errors);
        (set, errors)
    }
}

/// The `*.yml`/`*.yaml` files under `dir`, sorted (symbolic links followed); what
/// the walk skipped (unreadable, link loop, too deep) comes back as load errors.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Vec<LoadError> {
    let w = crate::walk::walk(dir, |path, entry| {
        entry == crate::walk::Entry::Dir
            || path.extension().is_some_and(|e| e == "yml" || e == "yaml")
    });
    out.extend(w.files);
    w.skipped
        .into_iter()
        .map(|s| LoadError {
            file: s.path.display().to_string(),
            reason: match &s.reason {
                crate::walk::SkipReason::Unreadable(e) if s.path == dir => {
                    format!("cannot read the directory: {e}")
                }
                r => format!("skipped: {r}"),
            },
        })
        .collect()
}

/// Resolves correlation references and duplicate ids, and builds the set.
fn link(
    compiled: Vec<(String, String, Origin, compile::Compiled)>,
    errors: &mut Vec<LoadError>,
) -> RuleSet {
    let mut set = RuleSet::default();
    let mut labels = Vec::new();
    for (label, file, origin, c) in compiled {
        if set.rules.iter().any(|r| r.id == c.id) {
            errors.push(LoadError {
                file: label,
                reason: format!("duplicate rule id `{}`", c.id),
            });
            continue;
        }
        if set.rules.len() >= usize::from(u16::MAX) {
            errors.push(LoadError {
                file: label,
                reason: "too many rules".to_owned(),
            });
            continue;
        }
        let techniques = c.tags.iter().filter_map(|t| technique_of_tag(t)).collect();
        set.rules.push(Arc::new(SigmaRule {
            id: c.id,
            name: c.name,
            title: c.title,
            level: c.level,
            severity: c.level.severity(),
            techniques,
            attack_version: c.attack_version,
            kind: c.kind,
            silent: false,
            origin,
            file,
        }));
        set.bodies.push(c.body);
        labels.push(label);
    }
    set.feeds = vec![Vec::new(); set.rules.len()];
    let mut keep = vec![true; set.rules.len()];
    for i in 0..set.bodies.len() {
        let Body::Correlation(corr) = &set.bodies[i] else {
            continue;
        };
        let mut linked = Vec::new();
        let mut missing = Vec::new();
        for r in &corr.rule_refs {
            let found = set.rules.iter().position(|x| {
                x.kind == RuleKind::Detection && (x.id == *r || x.name.as_deref() == Some(r))
            });
            match found.and_then(|p| u16::try_from(p).ok()) {
                Some(p) => linked.push(p),
                None => missing.push(r.clone()),
            }
        }
        if !missing.is_empty() {
            errors.push(LoadError {
                file: labels[i].clone(),
                reason: format!(
                    "correlation references unknown rules: {}",
                    missing.join(", ")
                ),
            });
            keep[i] = false;
            continue;
        }
        let generate = corr.generate;
        let me = u16::try_from(i).unwrap_or(u16::MAX);
        for &d in &linked {
            set.feeds[usize::from(d)].push(me);
            if !generate {
                if let Some(r) = set.rules.get_mut(usize::from(d)) {
                    Arc::make_mut(r).silent = true;
                }
            }
        }
        if let Body::Correlation(corr) = &mut set.bodies[i] {
            corr.rules = linked;
        }
    }
    if keep.iter().all(|k| *k) {
        return set;
    }
    // Drop broken correlations; indices shift, so rebuild through the same path.
    let mut out = RuleSet::default();
    let old = std::mem::take(&mut set);
    let mut remap = vec![None; old.rules.len()];
    for (i, ((rule, body), feeds)) in old
        .rules
        .into_iter()
        .zip(old.bodies)
        .zip(old.feeds)
        .enumerate()
    {
        if keep[i] {
            remap[i] = u16::try_from(out.rules.len()).ok();
            out.rules.push(rule);
            out.bodies.push(body);
            out.feeds.push(feeds);
        }
    }
    for f in &mut out.feeds {
        *f = f.iter().filter_map(|x| remap[usize::from(*x)]).collect();
    }
    for b in &mut out.bodies {
        if let Body::Correlation(c) = b {
            c.rules = c
                .rules
                .iter()
                .filter_map(|x| remap[usize::from(*x)])
                .collect();
        }
    }
    out
}

/// `attack.t1562.008` → `T1562.008`; other tags → `None`.
pub fn technique_of_tag(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("attack.")?;
    let rest = rest.strip_prefix('t').or_else(|| rest.strip_prefix('T'))?;
    let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main, 4) || !(sub.is_empty() || digits(sub, 3)) {
        return None;
    }
    Some(format!("T{}", rest.to_ascii_uppercase()))
}

impl RuleSet {
    /// A builder.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// The built-in threshold rules alone.
    pub fn builtin() -> (RuleSet, Vec<LoadError>) {
        Self::builder().builtin().build()
    }

    /// Every rule file under `dir`.
    pub fn load_dir(dir: &Path) -> (RuleSet, Vec<LoadError>) {
        Self::builder().dir(dir).build()
    }

    /// Rules from YAML texts, each `(name, text)`.
    pub fn from_yaml_strs(texts: &[(&str, &str)]) -> (RuleSet, Vec<LoadError>) {
        texts
            .iter()
            .fold(Self::builder(), |b, (n, t)| b.yaml(n, t))
            .build()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules, in load order (hits refer to them by index).
    pub fn rules(&self) -> &[Arc<SigmaRule>] {
        &self.rules
    }

    /// The rule with this index.
    pub fn rule(&self, index: u16) -> Option<&Arc<SigmaRule>> {
        self.rules.get(usize::from(index))
    }

    /// Indices of the detection rules that can match an event with this
    /// `eventSource` and `eventName` (callers cache this per distinct pair).
    pub fn candidates(&self, source: &str, name: &str) -> Vec<u16> {
        self.bodies
            .iter()
            .enumerate()
            .filter_map(|(i, b)| match b {
                Body::Detection(d) => {
                    let relevant = !self.rules[i].silent || !self.feeds[i].is_empty();
                    (relevant && pred_holds(&d.pred, &d.searches, source, name))
                        .then(|| u16::try_from(i).ok())
                        .flatten()
                }
                Body::Correlation(_) => None,
            })
            .collect()
    }

    /// Detection rules that look at every event (no `eventName`/`eventSource`
    /// constraint), by id: each makes every event pay for a generic parse.
    pub fn unindexed(&self) -> Vec<&str> {
        self.bodies
            .iter()
            .zip(&self.rules)
            .filter(|(b, _)| matches!(b, Body::Detection(d) if d.pred == Pred::True))
            .map(|(_, r)| r.id.as_str())
            .collect()
    }

    /// Evaluates `candidates` on a parsed record at `time` (epoch seconds):
    /// alerting matches, and correlation thresholds reached (state is updated).
    pub fn evaluate(&self, candidates: &[u16], record: &Value, time: i64) -> EventHits {
        let mut hits = EventHits::default();
        for &i in candidates {
            if !self.detection_matches(i, record) {
                continue;
            }
            let idx = usize::from(i);
            if !self.rules[idx].silent {
                hits.rules.push(i);
            }
            for &c in &self.feeds[idx] {
                if let Some(Body::Correlation(corr)) = self.bodies.get(usize::from(c)) {
                    let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                    hits.correlations
                        .extend(state.observe(c, corr, record, time));
                }
            }
        }
        hits
    }

    /// Detection rules (alerting or not) matching one record, statelessly.
    pub fn matches(&self, record_json: &[u8]) -> Result<Vec<u16>, serde_json::Error> {
        let record: Value = serde_json::from_slice(record_json)?;
        let s = |k: &str| record.get(k).and_then(Value::as_str).unwrap_or("");
        let candidates = self.candidates(s("eventSource"), s("eventName"));
        Ok(candidates
            .into_iter()
            .filter(|&i| self.detection_matches(i, &record))
            .collect())
    }

    /// Forgets every correlation count (tests, `rules test`).
    pub fn reset_state(&self) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::default();
    }

    fn detection_matches(&self, i: u16, record: &Value) -> bool {
        let Some(Body::Detection(d)) = self.bodies.get(usize::from(i)) else {
            return false;
        };
        d.condition
            .eval(&mut |s| d.searches.get(s).is_some_and(|x| search_matches(x, record)))
    }
}

fn search_matches(s: &Search, record: &Value) -> bool {
    match s {
        Search::Fields(alts) => alts
            .iter()
            .any(|items| items.iter().all(|it| it.matches(record))),
        Search::Keywords(words) => words.iter().any(|w| any_string(record, w)),
    }
}

fn any_string(v: &Value, g: &matcher::Glob) -> bool {
    match v {
        Value::String(s) => g.matches(s),
        Value::Array(a) => a.iter().any(|x| any_string(x, g)),
        Value::Object(m) => m.values().any(|x| any_string(x, g)),
        _ => false,
    }
}

fn pred_holds(p: &Pred, searches: &[Search], source: &str, name: &str) -> bool {
    match p {
        Pred::True => true,
        Pred::And(v) => v.iter().all(|x| pred_holds(x, searches, source, name)),
        Pred::Or(v) => v.iter().any(|x| pred_holds(x, searches, source, name)),
        Pred::Item(s, a, j, field) => {
            let Some(Search::Fields(alts)) = searches.get(*s) else {
                return true;
            };
            let Some(item) = alts.get(*a).and_then(|x| x.get(*j)) else {
                return true;
            };
            let value = match field {
                KeyField::Name => name,
                KeyField::Source => source,
            };
            let one = |m: &matcher::Matcher| m.matches_str(value).unwrap_or(true);
            if item.all {
                item.matchers.iter().all(one)
            } else {
                item.matchers.iter().any(one)
            }
        }
    }
}

#[cfg(test)]
mod tests;
