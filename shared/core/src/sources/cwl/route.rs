//! Log group → source: the [`SourceMap`] of glob patterns, first match wins, and
//! content sniffing of a sample message as the fallback.

use std::fmt;
use std::str::FromStr;

use crate::sources::access_log::{self, AccessFormat};
use crate::sources::vpcflow::{FlowError, FlowFormat};

/// Which parser a log group's messages need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogSource {
    /// CloudTrail delivered to CloudWatch Logs (one JSON event per message).
    CloudTrail,
    /// VPC Flow Logs.
    VpcFlow,
    /// Web access logs (nginx, morgan).
    AccessLog,
}

impl LogSource {
    /// The name used in findings and configuration: `cloudtrail`, `vpcflow`,
    /// `access_log`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::CloudTrail => "cloudtrail",
            LogSource::VpcFlow => "vpcflow",
            LogSource::AccessLog => "access_log",
        }
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that is not `cloudtrail`, `vpcflow`, `access_log` or `access-log`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log source `{0}` (expected cloudtrail, vpcflow or access_log)")]
pub struct UnknownSource(pub String);

impl FromStr for LogSource {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, UnknownSource> {
        match s.trim() {
            "cloudtrail" => Ok(LogSource::CloudTrail),
            "vpcflow" => Ok(LogSource::VpcFlow),
            "access_log" | "access-log" => Ok(LogSource::AccessLog),
            other => Err(UnknownSource(other.to_owned())),
        }
    }
}

/// A bad entry in a source map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad source map entry `{entry}`: {reason}")]
pub struct SourceMapError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

/// How to parse one log group's messages: the source and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'m> {
    /// CloudTrail events.
    CloudTrail,
    /// Flow log lines in this format.
    VpcFlow(&'m FlowFormat),
    /// Access log lines in this format.
    AccessLog(AccessFormat),
}

impl Route<'_> {
    /// The source of this route.
    pub fn source(&self) -> LogSource {
        match self {
            Route::CloudTrail => LogSource::CloudTrail,
            Route::VpcFlow(_) => LogSource::VpcFlow,
            Route::AccessLog(_) => LogSource::AccessLog,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    CloudTrail,
    VpcFlow(FlowFormat),
    AccessLog(AccessFormat),
}

impl Target {
    fn route(&self) -> Route<'_> {
        match self {
            Target::CloudTrail => Route::CloudTrail,
            Target::VpcFlow(f) => Route::VpcFlow(f),
            Target::AccessLog(a) => Route::AccessLog(*a),
        }
    }
}

/// Log group → source: glob patterns (`*` matches any run of characters, `/`
/// included; everything else literal, case-sensitive), first match wins, then
/// content sniffing.
///
/// Syntax: entries separated by commas (whitespace around them ignored), each
/// `PATTERN=SOURCE[:OPTION]`:
/// - `SOURCE` is `cloudtrail`, `vpcflow`, `access_log` or `access-log`;
/// - for `vpcflow`, `OPTION` is the flow log format (`${version} ${srcaddr} …`,
///   fields separated by spaces); without it the default version-2 format;
/// - for `access_log`, `OPTION` is `nginx`, `morgan`, `morgan-json` or `auto`
///   (default `auto`).
///
/// Example: `/aws/vpc/*=vpcflow,*nginx*=access_log:nginx,*cloudtrail*=cloudtrail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMap {
    entries: Vec<(Box<str>, Target)>,
    /// Formats tried, in order, when sniffing a flow log line: the default one and
    /// every custom format of the map.
    flow_formats: Vec<FlowFormat>,
}

impl Default for SourceMap {
    /// No patterns: every log group is sniffed.
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            flow_formats: vec![FlowFormat::default_v2()],
        }
    }
}

impl FromStr for SourceMap {
    type Err = SourceMapError;
    fn from_str(s: &str) -> Result<Self, SourceMapError> {
        Self::parse(s)
    }
}

impl SourceMap {
    /// Parses a pattern list (see the type's documentation). An empty string gives a
    /// map that only sniffs.
    pub fn parse(spec: &str) -> Result<Self, SourceMapError> {
        let mut map = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |reason: String| SourceMapError {
                entry: entry.to_owned(),
                reason,
            };
            let (pattern, target) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected PATTERN=SOURCE".to_owned()))?;
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(bad("empty pattern".to_owned()));
            }
            let (source, option) = match target.split_once(':') {
                Some((s, o)) => (s.trim(), Some(o.trim())),
                None => (target.trim(), None),
            };
            let source: LogSource = source
                .parse()
                .map_err(|e: UnknownSource| bad(e.to_string()))?;
            let target = match (source, option) {
                (LogSource::CloudTrail, None) => Target::CloudTrail,
                (LogSource::CloudTrail, Some(_)) => {
                    return Err(bad("cloudtrail takes no format".to_owned()));
                }
                (LogSource::VpcFlow, None) => Target::VpcFlow(FlowFormat::default_v2()),
                (LogSource::VpcFlow, Some(f)) => {
                    let format = FlowFormat::parse(f).map_err(|e: FlowError| bad(e.to_string()))?;
                    if !map.flow_formats.contains(&format) {
                        map.flow_formats.push(format.clone());
                    }
                    Target::VpcFlow(format)
                }
                (LogSource::AccessLog, None) => Target::AccessLog(AccessFormat::Auto),
                (LogSource::AccessLog, Some(a)) => Target::AccessLog(
                    a.parse()
                        .map_err(|e: access_log::AccessError| bad(e.to_string()))?,
                ),
            };
            map.entries.push((pattern.into(), target));
        }
        Ok(map)
    }

    /// The source of a log group: the first matching pattern, else what `sample` (one
    /// message of the group) looks like; `None` when neither tells.
    pub fn resolve(&self, log_group: &str, sample: &str) -> Option<LogSource> {
        self.route(log_group, sample).map(|r| r.source())
    }

    /// Like [`SourceMap::resolve`], with the format to parse the messages in.
    pub fn route(&self, log_group: &str, sample: &str) -> Option<Route<'_>> {
        self.route_by_pattern(log_group)
            .or_else(|| self.sniff(sample))
    }

    /// The route of the first pattern matching `log_group`, without sniffing.
    pub fn route_by_pattern(&self, log_group: &str) -> Option<Route<'_>> {
        self.entries
            .iter()
            .find(|(p, _)| glob_match(p, log_group))
            .map(|(_, t)| t.route())
    }

    /// What a message looks like: a CloudTrail event (JSON with `eventVersion` and
    /// `eventSource`), an access log line (JSON or combined), or a flow log line in
    /// one of the map's flow formats (the default version 2 first).
    pub fn sniff(&self, sample: &str) -> Option<Route<'_>> {
        let s = sample.trim();
        if s.starts_with('{') {
            if s.contains("\"eventVersion\"") && s.contains("\"eventSource\"") {
                return Some(Route::CloudTrail);
            }
            return access_log::parse_line(s, AccessFormat::MorganJson)
                .ok()
                .map(|_| Route::AccessLog(AccessFormat::MorganJson));
        }
        if let Some(f) = self.flow_formats.iter().find(|f| f.parse_line(s).is_ok()) {
            return Some(Route::VpcFlow(f));
        }
        access_log::parse_line(s, AccessFormat::Auto)
            .ok()
            .map(|_| Route::AccessLog(AccessFormat::Auto))
    }
}

/// `*` matches any run of bytes (possibly empty); everything else is literal.
pub(super) fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((first, stars)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let (middle, last) = stars.rsplit_once('*').unwrap_or(("", stars));
    for part in middle.split('*').filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}
