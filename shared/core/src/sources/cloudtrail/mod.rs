//! CloudTrail: log files as CloudTrail writes them to S3 (`{"Records":[...]}`,
//! gzipped) and single events as CloudTrail delivers them to CloudWatch Logs.
//! Records are split from the stream one at a time, parsed into borrowed structs,
//! and reduced to compact [`CtEvent`]s whose strings live in the batch's interner.

mod classify;
pub mod record;
pub mod split;

pub use classify::{ErrorClass, IdentityType, IpClass, UaFamily, network_of};

use crate::decode::{self, DecodeError, Limits};
use crate::intern::{Interner, Sym};
use crate::rules::builtin::{self, RuleInput};
use crate::rules::sigma::{CorrelationHit, RuleSet, SigmaRule};
use crate::timefmt;
use record::RawRecord;
use rustc_hash::FxHashMap;
use split::{RecordSplitter, SplitError};
use std::io::Read;
use std::sync::Arc;

/// Name of this source in findings.
pub const SOURCE: &str = "cloudtrail";

/// One CloudTrail event, reduced to what features, rules and findings need.
#[derive(Debug, Clone)]
pub struct CtEvent {
    /// `eventID`.
    pub event_id: Box<str>,
    /// Event time, epoch seconds.
    pub time: i64,
    /// `eventSource`.
    pub source: Sym,
    /// `eventName`.
    pub name: Sym,
    /// `awsRegion`.
    pub region: Sym,
    /// `recipientAccountId`, else the caller's account.
    pub account: Sym,
    /// The acting principal (role ARN for role sessions, user ARN, service…).
    pub principal: Sym,
    /// `sourceIPAddress`.
    pub ip: Sym,
    /// `userAgent`.
    pub user_agent: Sym,
    /// `errorCode` (empty when the call succeeded).
    pub error_code: Sym,
    /// Identity type.
    pub identity: IdentityType,
    /// Source-IP class.
    pub ip_class: IpClass,
    /// User-agent family.
    pub ua: UaFamily,
    /// Error class.
    pub error: ErrorClass,
    /// `readOnly`, when present.
    pub read_only: Option<bool>,
    /// MFA: the session's `mfaAuthenticated`, or ConsoleLogin's `MFAUsed`.
    pub mfa: Option<bool>,
    /// A console session or sign-in.
    pub console: bool,
    /// A failed console sign-in.
    pub login_failed: bool,
    /// Index of the most severe built-in rule that matched.
    pub rule: Option<u16>,
    /// The alerting Sigma rules that matched (see [`CtBatch::sigma_rules`]).
    pub sigma: SigmaSpan,
}

/// Where an event's Sigma hits are in [`CtBatch::sigma_hits`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigmaSpan {
    start: u32,
    len: u16,
}

/// The events of one file (or payload) with their strings.
#[derive(Debug, Default)]
pub struct CtBatch {
    /// Strings of the events.
    pub strings: Interner,
    /// Events in file order.
    pub events: Vec<CtEvent>,
    /// Records skipped: malformed, or larger than the maximum record size.
    pub skipped: u64,
    /// Decompressed bytes read for this batch.
    pub bytes: u64,
    /// Sigma rule indices of all events' hits (events point in with a [`SigmaSpan`]).
    pub sigma_hits: Vec<u16>,
    /// Sigma thresholds reached while parsing: (index of the event that reached
    /// it, the hit).
    pub correlations: Vec<(usize, CorrelationHit)>,
    ua_cache: Vec<Option<UaFamily>>,
    sigma: Option<Arc<RuleSet>>,
    /// Candidate Sigma rules per (`eventSource`, `eventName`) of this batch.
    sigma_candidates: FxHashMap<(Sym, Sym), Box<[u16]>>,
}

/// Why a CloudTrail file could not be read. A file error fails only that file.
#[derive(Debug, thiserror::Error)]
pub enum CloudTrailError {
    /// Decompression failed or hit the cap.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The document is not a CloudTrail log file, or is cut short.
    #[error(transparent)]
    Split(SplitError),
}

impl From<SplitError> for CloudTrailError {
    fn from(e: SplitError) -> Self {
        match e {
            SplitError::Io(io) => CloudTrailError::Decode(DecodeError::from_io(io)),
            other => CloudTrailError::Split(other),
        }
    }
}

/// Reads a CloudTrail log file a segment of events at a time, so that memory is
/// bounded by the segment (and the largest record), not by the file: each
/// [`CtReader::next_batch`] is a batch of its own (own strings, own Sigma hits),
/// while the Sigma correlation state carries over in the shared rule set.
pub struct CtReader<'a> {
    split: RecordSplitter<Box<dyn Read + 'a>>,
    rules: Option<Arc<RuleSet>>,
    /// Oversized records already counted into a batch.
    oversized_counted: u64,
    records: u64,
    done: bool,
    interrupted: bool,
}

impl<'a> CtReader<'a> {
    /// Opens a log file (gzip or plain); fails when the decoder cannot start.
    pub fn open<R: Read + 'a>(
        body: R,
        limits: &Limits,
        rules: Option<Arc<RuleSet>>,
    ) -> Result<Self, CloudTrailError> {
        let reader = decode::open(body, limits.max_decompressed_bytes)?;
        Ok(Self {
            split: RecordSplitter::new(reader, limits.max_record_bytes),
            rules,
            oversized_counted: 0,
            records: 0,
            done: false,
            interrupted: false,
        })
    }

    fn new_batch(&self) -> CtBatch {
        CtBatch::with_rules(self.rules.clone())
    }

    /// The next batch of at most `max_events` events (records skipped while
    /// reading them are counted in its `skipped`), or `None` when the file is
    /// done. `max_events` of 0 is taken as 1. A malformed file is an error, which
    /// may come after earlier batches were returned.
    pub fn next_batch(&mut self, max_events: usize) -> Result<Option<CtBatch>, CloudTrailError> {
        self.next_batch_until(max_events, |_, _| false)
    }

    /// Like [`CtReader::next_batch`], asking `interrupt` after every record (with
    /// the records and decompressed bytes read from the file so far) whether to
    /// stop: then the batch so far is returned and [`CtReader::interrupted`] is
    /// set (a deadline check; the caller decides how often it looks at the clock).
    pub fn next_batch_until(
        &mut self,
        max_events: usize,
        interrupt: impl FnMut(u64, u64) -> bool,
    ) -> Result<Option<CtBatch>, CloudTrailError> {
        if self.done || self.interrupted {
            return Ok(None);
        }
        let mut batch = self.new_batch();
        self.fill(&mut batch, max_events.max(1), interrupt)?;
        if batch.events.is_empty() && batch.skipped == 0 && !self.interrupted {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Reads records into `batch` until it holds `max_events` events, the file
    /// ends or `interrupt` says stop.
    fn fill(
        &mut self,
        batch: &mut CtBatch,
        max_events: usize,
        mut interrupt: impl FnMut(u64, u64) -> bool,
    ) -> Result<(), CloudTrailError> {
        let start = self.split.bytes_read();
        while batch.events.len() < max_events {
            let Some(raw) = self.split.next_record()? else {
                self.done = true;
                break;
            };
            if batch.push_json(raw).is_err() {
                batch.skipped += 1;
            }
            self.records += 1;
            if interrupt(self.records, self.split.bytes_read()) {
                self.interrupted = true;
                break;
            }
        }
        let oversized = self.split.oversized();
        batch.skipped += oversized - self.oversized_counted;
        self.records += oversized - self.oversized_counted;
        self.oversized_counted = oversized;
        batch.bytes = self.split.bytes_read() - start;
        Ok(())
    }

    /// Whether the last batch was cut short by the `interrupt` of
    /// [`CtReader::next_batch_until`].
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Records read so far (events and skipped records).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.split.bytes_read()
    }
}

/// What an S3 key holds, judged by CloudTrail's naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A CloudTrail log file.
    LogFile,
    /// A digest file (integrity validation): skipped.
    Digest,
    /// Anything else (S3 test objects, other logs): skipped.
    Other,
}

/// Classifies an object key (or local path).
pub fn key_kind(key: &str) -> KeyKind {
    let file = key.rsplit('/').next().unwrap_or(key);
    if key.contains("CloudTrail-Digest/") || file.contains("_CloudTrail-Digest_") {
        KeyKind::Digest
    } else if file.ends_with(".json.gz") || file.ends_with(".json") {
        KeyKind::LogFile
    } else {
        KeyKind::Other
    }
}

impl CtBatch {
    /// Reads a whole CloudTrail log file (gzip or plain) from `body`.
    /// A malformed record is skipped and counted; a malformed file is an error.
    pub fn read<R: Read>(body: R, limits: &Limits) -> Result<Self, CloudTrailError> {
        Self::read_with(body, limits, None)
    }

    /// Like [`CtBatch::read`], evaluating a Sigma rule set on every event too
    /// (its correlation state carries over from batch to batch).
    pub fn read_with<R: Read>(
        body: R,
        limits: &Limits,
        rules: Option<Arc<RuleSet>>,
    ) -> Result<Self, CloudTrailError> {
        let mut reader = CtReader::open(body, limits, rules)?;
        let mut batch = reader.new_batch();
        reader.fill(&mut batch, usize::MAX, |_, _| false)?;
        Ok(batch)
    }

    /// An empty batch whose [`CtBatch::push_json`] evaluates these Sigma rules.
    pub fn with_rules(rules: Option<Arc<RuleSet>>) -> Self {
        Self {
            sigma: rules.filter(|r| !r.is_empty()),
            ..Self::default()
        }
    }

    /// Parses one record's JSON and appends it.
    pub fn push_json(&mut self, json: &[u8]) -> Result<(), serde_json::Error> {
        let rec = record::parse(json)?;
        match self.normalise(&rec) {
            Some(mut ev) => {
                if self.sigma.is_some() {
                    ev.sigma = self.apply_sigma(json, &ev);
                }
                self.events.push(ev);
                Ok(())
            }
            None => Err(serde::de::Error::custom(
                "eventTime is not an RFC 3339 time",
            )),
        }
    }

    fn ua_family(&mut self, sym: Sym, ua: Option<&str>) -> UaFamily {
        let i = sym.index();
        if let Some(Some(f)) = self.ua_cache.get(i) {
            return *f;
        }
        let f = UaFamily::parse(ua);
        if self.ua_cache.len() <= i {
            self.ua_cache.resize(i + 1, None);
        }
        self.ua_cache[i] = Some(f);
        f
    }

    fn normalise(&mut self, r: &RawRecord<'_>) -> Option<CtEvent> {
        let time = timefmt::parse_rfc3339(&r.event_time)?;
        let id = r.user_identity.as_ref();
        let identity = IdentityType::parse(id.and_then(|i| i.kind.as_deref()));
        let session = id.and_then(|i| i.session_context.as_ref());
        let issuer_arn = session
            .and_then(|s| s.session_issuer.as_ref())
            .and_then(|s| s.arn.as_deref());
        let principal = principal_of(r, identity, issuer_arn);
        let account = r
            .recipient_account_id
            .as_deref()
            .or_else(|| id.and_then(|i| i.account_id.as_deref()))
            .unwrap_or("");
        let name = &*r.event_name;
        let console_login = name == "ConsoleLogin";
        let additional = r.additional_event_data.map(|v| v.get());
        let response = r.response_elements.map(|v| v.get());
        let mfa = if console_login {
            additional.and_then(|a| {
                if a.contains("\"MFAUsed\":\"Yes\"") {
                    Some(true)
                } else if a.contains("\"MFAUsed\":\"No\"") {
                    Some(false)
                } else {
                    None
                }
            })
        } else {
            session
                .and_then(|s| s.attributes.as_ref())
                .and_then(|a| a.mfa_authenticated)
        };
        let login_failed = console_login
            && (r.error_code.is_some() || response.is_some_and(|v| v.contains("\"Failure\"")));
        let caller_user = match identity {
            IdentityType::IamUser => id.and_then(|i| i.user_name.as_deref()),
            _ => None,
        };
        let rule = builtin::evaluate(&RuleInput {
            source: &r.event_source,
            name,
            identity,
            caller_user,
            request: r.request_parameters.map(|v| v.get()),
            response,
            additional,
            account,
        });
        let ua_sym = self.strings.intern(r.user_agent.as_deref().unwrap_or(""));
        let ua = self.ua_family(ua_sym, r.user_agent.as_deref());
        let ip = r.source_ip_address.as_deref();
        let s = &mut self.strings;
        Some(CtEvent {
            event_id: (*r.event_id).into(),
            time,
            source: s.intern(&r.event_source),
            name: s.intern(name),
            region: s.intern(r.aws_region.as_deref().unwrap_or("")),
            account: s.intern(account),
            principal: s.intern(principal),
            ip: s.intern(ip.unwrap_or("")),
            user_agent: ua_sym,
            error_code: s.intern(r.error_code.as_deref().unwrap_or("")),
            identity,
            ip_class: IpClass::parse(ip),
            ua,
            error: ErrorClass::parse(r.error_code.as_deref()),
            read_only: r.read_only,
            mfa,
            console: console_login || ua == UaFamily::Console,
            login_failed,
            rule,
            sigma: SigmaSpan::default(),
        })
    }

    /// Runs the Sigma rules that can match this event's source and name; the
    /// record is parsed into a generic JSON value only when there are some.
    fn apply_sigma(&mut self, json: &[u8], ev: &CtEvent) -> SigmaSpan {
        let Some(rules) = self.sigma.clone() else {
            return SigmaSpan::default();
        };
        let key = (ev.source, ev.name);
        if !self.sigma_candidates.contains_key(&key) {
            let c = rules.candidates(self.str(ev.source), self.str(ev.name));
            self.sigma_candidates.insert(key, c.into_boxed_slice());
        }
        let candidates = self.sigma_candidates.get(&key).map_or(&[][..], |c| &c[..]);
        if candidates.is_empty() {
            return SigmaSpan::default();
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
            return SigmaSpan::default();
        };
        let hits = rules.evaluate(candidates, &value, ev.time);
        let index = self.events.len();
        self.correlations
            .extend(hits.correlations.into_iter().map(|h| (index, h)));
        let (Ok(start), Ok(len)) = (
            u32::try_from(self.sigma_hits.len()),
            u16::try_from(hits.rules.len()),
        ) else {
            return SigmaSpan::default();
        };
        self.sigma_hits.extend(hits.rules);
        SigmaSpan { start, len }
    }

    /// The alerting Sigma rules that matched an event.
    pub fn sigma_rules<'b>(&'b self, e: &CtEvent) -> impl Iterator<Item = &'b SigmaRule> + 'b {
        let start = e.sigma.start as usize;
        let hits = self
            .sigma_hits
            .get(start..start + usize::from(e.sigma.len))
            .unwrap_or(&[]);
        hits.iter()
            .filter_map(move |&i| self.sigma.as_ref().and_then(|r| r.rule(i)))
            .map(|r| &**r)
    }

    /// The rule set this batch was read with, if any.
    pub fn rule_set(&self) -> Option<&Arc<RuleSet>> {
        self.sigma.as_ref()
    }

    /// The string of a symbol of this batch.
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.resolve(sym)
    }
}

/// The stable principal of a record: the issuing role or user for sessions (so all
/// sessions of a role count as one), else the ARN, the invoking service, the
/// principal id, the account, or the identity type.
fn principal_of<'r>(
    r: &'r RawRecord<'_>,
    identity: IdentityType,
    issuer_arn: Option<&'r str>,
) -> &'r str {
    let id = r.user_identity.as_ref();
    issuer_arn
        .or_else(|| id.and_then(|i| i.arn.as_deref()))
        .or_else(|| id.and_then(|i| i.invoked_by.as_deref()))
        .or_else(|| id.and_then(|i| i.principal_id.as_deref()))
        .or_else(|| id.and_then(|i| i.account_id.as_deref()))
        .unwrap_or(match identity {
            IdentityType::None => "",
            other => other.as_str(),
        })
}

#[cfg(test)]
mod tests;
