//! Field matching: one Sigma field item (`field|modifiers: values`) compiled into
//! matchers, and the lookup of dotted field paths in a JSON record.
//!
//! Strings compare case-insensitively (Sigma's default); `*` and `?` are wildcards
//! and `\` escapes them. Numbers and booleans compare by their text. A path that
//! crosses an array looks into every element.

use serde_json::Value;
use std::borrow::Cow;
use std::net::IpAddr;

/// Largest compiled size, in bytes, of a `re` value (regex-lite's NFA size: about
/// 32 bytes per state, so some 1,000 states). A search costs up to states ×
/// haystack bytes; this and [`MAX_REGEX_TEXT`] bound one `re` on one field value to
/// about 16 million steps.
pub(crate) const MAX_REGEX_SIZE: usize = 32 * 1024;

/// Longest text, in bytes, a `re` value is run on: a longer field value is matched
/// on its first 16 KiB (cut at a character boundary, where `$` then matches).
/// CloudTrail fields that rules look at (user agents, ARNs, names) are far shorter.
pub(crate) const MAX_REGEX_TEXT: usize = 16 * 1024;

/// The part of `s` a regular expression is run on: at most [`MAX_REGEX_TEXT`] bytes.
pub(crate) fn regex_haystack(s: &str) -> &str {
    if s.len() <= MAX_REGEX_TEXT {
        return s;
    }
    let mut end = MAX_REGEX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
thread_local! {
    /// Bytes of text handed to regular expressions on this thread (tests assert
    /// the work bound with it).
    pub(crate) static REGEX_TEXT_BYTES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// What one value of a field item requires of the event's field.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// `field: null`: the field is absent or null.
    Null,
    /// `field|exists: true/false`.
    Exists(bool),
    /// A case-insensitive glob (plain text is a glob without wildcards).
    Glob(Glob),
    /// `re`: a regular expression (case-sensitive unless `re|i`).
    Regex(regex_lite::Regex),
    /// `gt`, `gte`, `lt`, `lte`: a numeric comparison.
    Cmp(CmpOp, f64),
    /// `fieldref`: equal to the value of another field.
    FieldRef(Path),
    /// `cidr`: an IP address inside a network.
    Cidr(IpAddr, u8),
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A compiled field item: a path, its matchers and whether all must hold.
#[derive(Debug)]
pub(crate) struct FieldItem {
    pub(crate) path: Path,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) all: bool,
}

/// A dotted field path, split once.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) full: String,
    parts: Vec<String>,
}

impl Path {
    pub(crate) fn new(full: &str) -> Self {
        Self {
            full: full.to_owned(),
            parts: full.split('.').map(str::to_owned).collect(),
        }
    }

    /// Every value at this path (arrays on the way and at the end are flattened).
    pub(crate) fn values<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut out = Vec::new();
        collect(root, &self.parts, &mut out);
        out
    }
}

fn collect<'v>(v: &'v Value, parts: &[String], out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => {
            for item in items {
                collect(item, parts, out);
            }
        }
        Value::Object(map) if !parts.is_empty() => {
            // A key that itself contains dots wins over descending.
            if parts.len() > 1 {
                let joined = parts.join(".");
                if let Some(x) = map.get(&joined) {
                    collect(x, &[], out);
                    return;
                }
            }
            if let Some(x) = map.get(&parts[0]) {
                collect(x, &parts[1..], out);
            }
        }
        _ if parts.is_empty() => out.push(v),
        _ => {}
    }
}

/// The text a scalar (or, for objects, its compact JSON) is compared as.
pub(crate) fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(n.to_string()),
        other => Cow::Owned(other.to_string()),
    }
}

impl FieldItem {
    /// Whether the record satisfies this item.
    pub(crate) fn matches(&self, root: &Value) -> bool {
        let values = self.path.values(root);
        let one = |m: &Matcher| matcher_holds(m, &values, root);
        if self.all {
            self.matchers.iter().all(one)
        } else {
            self.matchers.iter().any(one)
        }
    }
}

fn matcher_holds(m: &Matcher, values: &[&Value], root: &Value) -> bool {
    match m {
        Matcher::Null => values.is_empty() || values.iter().any(|v| v.is_null()),
        Matcher::Exists(want) => values.iter().any(|v| !v.is_null()) == *want,
        Matcher::FieldRef(other) => {
            let others = other.values(root);
            values.iter().any(|v| {
                let a = text(v);
                others
                    .iter()
                    .any(|o| !v.is_null() && text(o).eq_ignore_ascii_case(&a))
            })
        }
        _ => values.iter().any(|v| m.matches_value(v)),
    }
}

impl Matcher {
    /// Whether one field value satisfies this matcher (not for `Null`, `Exists`,
    /// `FieldRef`, which look at the whole record).
    pub(crate) fn matches_value(&self, v: &Value) -> bool {
        match self {
            Matcher::Glob(g) => !v.is_null() && g.matches(&text(v)),
            Matcher::Regex(re) => {
                !v.is_null() && {
                    let t = text(v);
                    let haystack = regex_haystack(&t);
                    #[cfg(test)]
                    REGEX_TEXT_BYTES.with(|n| n.set(n.get() + haystack.len()));
                    re.is_match(haystack)
                }
            }
            Matcher::Cmp(op, n) => number(v).is_some_and(|x| match op {
                CmpOp::Gt => x > *n,
                CmpOp::Gte => x >= *n,
                CmpOp::Lt => x < *n,
                CmpOp::Lte => x <= *n,
            }),
            Matcher::Cidr(net, bits) => text(v)
                .parse::<IpAddr>()
                .is_ok_and(|ip| in_network(ip, *net, *bits)),
            Matcher::Null | Matcher::Exists(_) | Matcher::FieldRef(_) => false,
        }
    }

    /// Whether a plain string (an `eventName`, say) satisfies this matcher; `None`
    /// when the matcher cannot be judged on the string alone.
    pub(crate) fn matches_str(&self, s: &str) -> Option<bool> {
        match self {
            Matcher::Glob(g) => Some(g.matches(s)),
            Matcher::Regex(re) => Some(re.is_match(regex_haystack(s))),
            _ => None,
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// One piece of a glob.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Literal text, lower case.
    Text(String),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters.
    Any,
}

/// A case-insensitive glob with the common shapes matched without backtracking.
#[derive(Debug)]
pub(crate) enum Glob {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General(Vec<Piece>),
}

impl Glob {
    /// Compiles Sigma text: `*`/`?` wildcards, `\*`, `\?` and `\\` escapes.
    pub(crate) fn new(pattern: &str) -> Self {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut lit = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                    if let Some(n) = chars.next() {
                        lit.push(n);
                    }
                }
                '*' | '?' => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut lit).to_lowercase()));
                    }
                    let p = if c == '*' { Piece::Any } else { Piece::One };
                    if !(p == Piece::Any && pieces.last() == Some(&Piece::Any)) {
                        pieces.push(p);
                    }
                }
                other => lit.push(other),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit.to_lowercase()));
        }
        match pieces.as_slice() {
            [] => Glob::Exact(String::new()),
            [Piece::Text(t)] => Glob::Exact(t.clone()),
            [Piece::Text(t), Piece::Any] => Glob::Prefix(t.clone()),
            [Piece::Any, Piece::Text(t)] => Glob::Suffix(t.clone()),
            [Piece::Any, Piece::Text(t), Piece::Any] => Glob::Contains(t.clone()),
            _ => Glob::General(pieces),
        }
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let lower: Cow<'_, str> = if s.chars().any(char::is_uppercase) {
            Cow::Owned(s.to_lowercase())
        } else {
            Cow::Borrowed(s)
        };
        let s = lower.as_ref();
        match self {
            Glob::Exact(t) => s == t,
            Glob::Prefix(t) => s.starts_with(t.as_str()),
            Glob::Suffix(t) => s.ends_with(t.as_str()),
            Glob::Contains(t) => s.contains(t.as_str()),
            Glob::General(p) => glob_match(p, s),
        }
    }
}

/// Matches pieces against text; the last `*` is the only backtrack point.
fn glob_match(pieces: &[Piece], s: &str) -> bool {
    let mut pi = 0;
    let mut at = 0;
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < pieces.len() {
            match &pieces[pi] {
                Piece::Any => {
                    star = Some((pi, at));
                    pi += 1;
                    continue;
                }
                Piece::One => {
                    if let Some(c) = s[at..].chars().next() {
                        at += c.len_utf8();
                        pi += 1;
                        continue;
                    }
                }
                Piece::Text(t) => {
                    if s[at..].starts_with(t.as_str()) {
                        at += t.len();
                        pi += 1;
                        continue;
                    }
                }
            }
        } else if at == s.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more character.
        let Some((sp, sat)) = star else { return false };
        let Some(c) = s[sat..].chars().next() else {
            return false;
        };
        star = Some((sp, sat + c.len_utf8()));
        pi = sp + 1;
        at = sat + c.len_utf8();
    }
}

/// Parses `10.0.0.0/8` or `2001:db8::/32`.
pub(crate) fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.trim().parse().ok()?;
    let bits: u8 = bits.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_insensitively_with_wildcards_and_escapes() {
        let cases: &[(&str, &str, bool)] = &[
            ("StopLogging", "stoplogging", true),
            ("Delete*", "DeleteTrail", true),
            ("*Trail", "DeleteTrail", true),
            ("*lete*", "DeleteTrail", true),
            ("Del?te*l", "DeleteTrail", true),
            ("Del?te*l", "DeleteTrails", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            (r"100\*", "100*", true),
            (r"100\*", "1000", false),
            ("", "", true),
            ("*", "", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(Glob::new(p).matches(s), *want, "{p} vs {s}");
        }
    }

    #[test]
    fn paths_descend_objects_and_arrays() {
        let v: Value = serde_json::json!({
            "requestParameters": {"ipPermissions": {"items": [
                {"ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]}}
            ]}},
            "a.b": 1
        });
        let p = Path::new("requestParameters.ipPermissions.items.ipRanges.items.cidrIp");
        let got: Vec<_> = p.values(&v).iter().map(|x| text(x).into_owned()).collect();
        assert_eq!(got, ["10.0.0.0/8", "0.0.0.0/0"]);
        assert_eq!(Path::new("a.b").values(&v).len(), 1);
        assert!(Path::new("missing.x").values(&v).is_empty());
    }

    #[test]
    fn cidr_contains_addresses_of_its_family_only() {
        let (net, bits) = parse_cidr("203.0.113.0/24").unwrap_or((IpAddr::from([0; 4]), 0));
        let m = Matcher::Cidr(net, bits);
        assert!(m.matches_value(&Value::from("203.0.113.9")));
        assert!(!m.matches_value(&Value::from("198.51.100.1")));
        assert!(!m.matches_value(&Value::from("2001:db8::1")));
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }
}
