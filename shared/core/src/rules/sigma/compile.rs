//! From a YAML document to a compiled rule: metadata, searches, condition, and the
//! `eventName`/`eventSource` predicate used to skip events a rule cannot match.

use super::condition::{self, Expr};
use super::correlation::{CorrKind, Correlation};
use super::matcher::{CmpOp, FieldItem, Glob, MAX_REGEX_SIZE, Matcher, Path, parse_cidr};
use super::{Level, RuleKind};
use serde_norway::Value as Yaml;

/// One search identifier of a detection.
#[derive(Debug)]
pub(crate) enum Search {
    /// A map (one alternative) or a list of maps (any alternative): every field
    /// item of an alternative must hold.
    Fields(Vec<Vec<FieldItem>>),
    /// A list of keywords: any string anywhere in the record matches one.
    Keywords(Vec<Glob>),
}

/// The part of a rule that decides whether an event matches.
#[derive(Debug)]
pub(crate) struct Detection {
    pub(crate) searches: Vec<Search>,
    pub(crate) condition: Expr,
    pub(crate) pred: Pred,
}

/// A compiled rule body.
#[derive(Debug)]
pub(crate) enum Body {
    Detection(Detection),
    Correlation(Correlation),
}

/// What a rule requires of `eventName`/`eventSource`, judged on those two strings
/// alone. `True` means the rule has to look at every event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pred {
    True,
    /// The item (search, alternative, item) on `eventName` or `eventSource`.
    Item(usize, usize, usize, KeyField),
    And(Vec<Pred>),
    Or(Vec<Pred>),
}

/// The two fields that rules are indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyField {
    Name,
    Source,
}

/// Metadata and body of one YAML document.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) title: String,
    pub(crate) level: Level,
    pub(crate) tags: Vec<String>,
    pub(crate) attack_version: Option<String>,
    pub(crate) kind: RuleKind,
    pub(crate) body: Body,
}

fn get<'a>(doc: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    doc.as_mapping().and_then(|m| m.get(key))
}

fn string(doc: &Yaml, key: &str) -> Option<String> {
    get(doc, key).and_then(scalar_text)
}

fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Compiles one document; `fallback_id` names a rule without an `id`.
pub(crate) fn compile(doc: &Yaml, fallback_id: &str) -> Result<Compiled, String> {
    if !doc.is_mapping() {
        return Err("a rule must be a YAML mapping".to_owned());
    }
    if let Some(action) = string(doc, "action") {
        return Err(format!(
            "rule collections (`action: {action}`) are not supported"
        ));
    }
    let title = string(doc, "title").ok_or("missing `title`")?;
    let id = string(doc, "id").unwrap_or_else(|| fallback_id.to_owned());
    let level = match string(doc, "level") {
        None => Level::Medium,
        Some(l) => Level::parse(&l).ok_or_else(|| format!("unknown level `{l}`"))?,
    };
    let tags = match get(doc, "tags") {
        Some(Yaml::Sequence(s)) => s.iter().filter_map(scalar_text).collect(),
        _ => Vec::new(),
    };
    let (kind, body) = match (get(doc, "detection"), get(doc, "correlation")) {
        (Some(d), None) => (RuleKind::Detection, Body::Detection(detection(d)?)),
        (None, Some(c)) => (RuleKind::Correlation, Body::Correlation(correlation(c)?)),
        (Some(_), Some(_)) => {
            return Err("a rule has `detection` or `correlation`, not both".into());
        }
        (None, None) => return Err("missing `detection`".to_owned()),
    };
    Ok(Compiled {
        id,
        name: string(doc, "name"),
        title,
        level,
        tags,
        attack_version: string(doc, "attack_version"),
        kind,
        body,
    })
}

fn detection(d: &Yaml) -> Result<Detection, String> {
    let map = d.as_mapping().ok_or("`detection` must be a mapping")?;
    let mut names = Vec::new();
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    for (k, v) in map {
        let key = k.as_str().ok_or("detection keys must be strings")?;
        match key {
            "condition" => match v {
                Yaml::String(s) => conditions.push(s.clone()),
                Yaml::Sequence(list) => {
                    for c in list {
                        conditions.push(scalar_text(c).ok_or("conditions must be strings")?);
                    }
                }
                _ => return Err("`condition` must be a string or a list of strings".into()),
            },
            // Legacy aggregation window: only meaningful with `|`, refused there.
            "timeframe" => {}
            _ => {
                let s = search(v).map_err(|e| format!("search `{key}`: {e}"))?;
                names.push(key.to_owned());
                searches.push(s);
            }
        }
    }
    if conditions.is_empty() {
        return Err("missing `condition` in `detection`".to_owned());
    }
    let mut parsed = Vec::new();
    for c in &conditions {
        parsed.push(condition::parse(c, &names)?);
    }
    let condition = if parsed.len() == 1 {
        parsed.remove(0)
    } else {
        Expr::Or(parsed)
    };
    let pred = simplify(pred_of(&condition, &searches));
    Ok(Detection {
        searches,
        condition,
        pred,
    })
}

fn search(v: &Yaml) -> Result<Search, String> {
    match v {
        Yaml::Mapping(_) => Ok(Search::Fields(vec![field_items(v)?])),
        Yaml::Sequence(list) if list.iter().all(Yaml::is_mapping) && !list.is_empty() => {
            let alts = list.iter().map(field_items).collect::<Result<_, _>>()?;
            Ok(Search::Fields(alts))
        }
        Yaml::Sequence(list) if !list.is_empty() => {
            let words = list
                .iter()
                .map(|w| scalar_text(w).map(|t| Glob::new(&t)))
                .collect::<Option<Vec<_>>>()
                .ok_or("a keyword list holds only strings")?;
            Ok(Search::Keywords(words))
        }
        Yaml::String(s) => Ok(Search::Keywords(vec![Glob::new(s)])),
        _ => Err("must be a mapping, a list of mappings or a list of keywords".to_owned()),
    }
}

fn field_items(v: &Yaml) -> Result<Vec<FieldItem>, String> {
    let map = v.as_mapping().ok_or("must be a mapping")?;
    if map.is_empty() {
        return Err("empty mapping".to_owned());
    }
    map.iter()
        .map(|(k, v)| {
            let key = k.as_str().ok_or("field names must be strings")?;
            field_item(key, v).map_err(|e| format!("`{key}`: {e}"))
        })
        .collect()
}

/// Modifiers that Sigma defines and this engine does not implement.
const UNSUPPORTED: &[&str] = &[
    "base64",
    "base64offset",
    "utf16",
    "utf16le",
    "utf16be",
    "wide",
    "windash",
    "expand",
];

fn field_item(key: &str, v: &Yaml) -> Result<FieldItem, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("");
    if field.is_empty() {
        return Err("keyword searches with modifiers are not supported".to_owned());
    }
    let (mut wrap, mut all, mut kind) = ((false, false), false, Kind::Text);
    let mut re_flags = String::new();
    for m in parts {
        match m {
            "contains" => wrap = (true, true),
            "startswith" => wrap = (false, true),
            "endswith" => wrap = (true, false),
            "all" => all = true,
            "re" => kind = Kind::Re,
            "i" | "m" | "s" if kind == Kind::Re => re_flags.push_str(m),
            "fieldref" => kind = Kind::FieldRef,
            "exists" => kind = Kind::Exists,
            "cidr" => kind = Kind::Cidr,
            "gt" => kind = Kind::Cmp(CmpOp::Gt),
            "gte" => kind = Kind::Cmp(CmpOp::Gte),
            "lt" => kind = Kind::Cmp(CmpOp::Lt),
            "lte" => kind = Kind::Cmp(CmpOp::Lte),
            m if UNSUPPORTED.contains(&m) => return Err(format!("unsupported modifier `{m}`")),
            m => return Err(format!("unknown modifier `{m}`")),
        }
    }
    let values: Vec<&Yaml> = match v {
        Yaml::Sequence(list) if list.is_empty() => return Err("empty value list".to_owned()),
        Yaml::Sequence(list) => list.iter().collect(),
        one => vec![one],
    };
    let matchers = values
        .into_iter()
        .map(|v| matcher(v, kind, wrap, &re_flags))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FieldItem {
        path: Path::new(field),
        matchers,
        all,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Re,
    FieldRef,
    Exists,
    Cidr,
    Cmp(CmpOp),
}

fn matcher(v: &Yaml, kind: Kind, wrap: (bool, bool), re_flags: &str) -> Result<Matcher, String> {
    if v.is_null() && kind == Kind::Text {
        return Ok(Matcher::Null);
    }
    let text = scalar_text(v).ok_or("values must be scalars")?;
    Ok(match kind {
        Kind::Text => {
            let (pre, post) = (if wrap.0 { "*" } else { "" }, if wrap.1 { "*" } else { "" });
            let body = if matches!(v, Yaml::String(_)) {
                text
            } else {
                text.replace('*', "\\*").replace('?', "\\?")
            };
            Matcher::Glob(Glob::new(&format!("{pre}{body}{post}")))
        }
        Kind::Re => {
            let pattern = if re_flags.is_empty() {
                text
            } else {
                format!("(?{re_flags}){text}")
            };
            Matcher::Regex(compile_regex(&pattern)?)
        }
        Kind::FieldRef => Matcher::FieldRef(Path::new(&text)),
        Kind::Exists => match v {
            Yaml::Bool(b) => Matcher::Exists(*b),
            _ => return Err("`exists` takes true or false".to_owned()),
        },
        Kind::Cidr => {
            let (ip, bits) = parse_cidr(&text).ok_or_else(|| format!("bad network `{text}`"))?;
            Matcher::Cidr(ip, bits)
        }
        Kind::Cmp(op) => {
            let n: f64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            Matcher::Cmp(op, n)
        }
    })
}

/// Compiles a `re` value under [`MAX_REGEX_SIZE`]: counted repetitions multiply
/// (`[a-z]{100}{100}` is 10,000 states), and search time grows with the compiled
/// size, so an oversized pattern is refused rather than run on every event.
pub(crate) fn compile_regex(pattern: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .build()
        .map_err(|e| {
            if e.to_string().contains("size limit") {
                format!(
                    "regular expression too large: it compiles to more than {} KiB (counted repetitions such as `{{100}}{{100}}` multiply); simplify it",
                    MAX_REGEX_SIZE / 1024
                )
            } else {
                format!("bad regular expression: {e}")
            }
        })
}

fn pred_of(e: &Expr, searches: &[Search]) -> Pred {
    match e {
        Expr::Search(i) => match searches.get(*i) {
            Some(Search::Fields(alts)) => Pred::Or(
                alts.iter()
                    .enumerate()
                    .map(|(a, items)| {
                        Pred::And(
                            items
                                .iter()
                                .enumerate()
                                .filter_map(|(j, it)| {
                                    let f = match it.path.full.as_str() {
                                        "eventName" => KeyField::Name,
                                        "eventSource" => KeyField::Source,
                                        _ => return None,
                                    };
                                    Some(Pred::Item(*i, a, j, f))
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            _ => Pred::True,
        },
        Expr::And(v) => Pred::And(v.iter().map(|x| pred_of(x, searches)).collect()),
        Expr::Or(v) => Pred::Or(v.iter().map(|x| pred_of(x, searches)).collect()),
        // A negation can hold for any name.
        Expr::Not(_) => Pred::True,
    }
}

fn simplify(p: Pred) -> Pred {
    match p {
        Pred::And(v) => {
            let v: Vec<Pred> = v
                .into_iter()
                .map(simplify)
                .filter(|x| *x != Pred::True)
                .collect();
            match v.len() {
                0 => Pred::True,
                1 => v.into_iter().next().unwrap_or(Pred::True),
                _ => Pred::And(v),
            }
        }
        Pred::Or(v) => {
            let v: Vec<Pred> = v.into_iter().map(simplify).collect();
            if v.is_empty() || v.contains(&Pred::True) {
                Pred::True
            } else if v.len() == 1 {
                v.into_iter().next().unwrap_or(Pred::True)
            } else {
                Pred::Or(v)
            }
        }
        other => other,
    }
}

fn correlation(c: &Yaml) -> Result<Correlation, String> {
    if !c.is_mapping() {
        return Err("`correlation` must be a mapping".to_owned());
    }
    let kind = match string(c, "type").as_deref() {
        Some("event_count") => CorrKind::EventCount,
        Some("value_count") => CorrKind::ValueCount(Vec::new()),
        Some(other) => return Err(format!("unsupported correlation type `{other}`")),
        None => return Err("correlation without `type`".to_owned()),
    };
    let rules: Vec<String> = match get(c, "rules") {
        Some(Yaml::Sequence(s)) => s.iter().filter_map(scalar_text).collect(),
        Some(one) => scalar_text(one).into_iter().collect(),
        None => Vec::new(),
    };
    if rules.is_empty() {
        return Err("correlation without `rules`".to_owned());
    }
    let group_by = match get(c, "group-by") {
        Some(Yaml::Sequence(s)) => s
            .iter()
            .filter_map(scalar_text)
            .map(|f| Path::new(&f))
            .collect(),
        Some(one) => scalar_text(one)
            .map(|f| vec![Path::new(&f)])
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let span = string(c, "timespan").ok_or("correlation without `timespan`")?;
    let timespan = parse_timespan(&span).ok_or_else(|| format!("bad timespan `{span}`"))?;
    let cond = get(c, "condition").ok_or("correlation without `condition`")?;
    let threshold = threshold(cond)?;
    let kind = match kind {
        CorrKind::ValueCount(_) => {
            let fields: Vec<Path> = match get(cond, "field") {
                Some(Yaml::Sequence(s)) => s
                    .iter()
                    .filter_map(scalar_text)
                    .map(|f| Path::new(&f))
                    .collect(),
                Some(one) => scalar_text(one)
                    .map(|f| vec![Path::new(&f)])
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            if fields.is_empty() {
                return Err("value_count needs `field` in its condition".to_owned());
            }
            CorrKind::ValueCount(fields)
        }
        k => k,
    };
    let generate = matches!(get(c, "generate"), Some(Yaml::Bool(true)));
    Ok(Correlation {
        kind,
        rule_refs: rules,
        rules: Vec::new(),
        group_by,
        timespan,
        threshold,
        generate,
    })
}

fn threshold(cond: &Yaml) -> Result<u64, String> {
    let num = |k: &str| get(cond, k).and_then(Yaml::as_u64);
    if let Some(n) = num("gte") {
        return Ok(n.max(1));
    }
    if let Some(n) = num("gt") {
        return Ok(n.saturating_add(1));
    }
    for k in ["lt", "lte", "eq", "neq", "range"] {
        if get(cond, k).is_some() {
            return Err(format!(
                "correlation condition `{k}` is not supported (only `gte` and `gt`)"
            ));
        }
    }
    Err("correlation condition needs `gte` or `gt` with a whole number".to_owned())
}

/// `30s`, `10m`, `2h`, `1d` in seconds.
pub(crate) fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    (n > 0).then_some(n * mult)
}
