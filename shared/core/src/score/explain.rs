//! Reasons in words: which features made the forest isolate an event, said the way
//! an analyst would say them.

use crate::features::FeatureDef;
use crate::features::cloudtrail::{Col, FEATURES, FileStats};
use crate::finding::short_principal;
use crate::models::artifact::Model;
use crate::sources::cloudtrail::{CtBatch, CtEvent, network_of};
use crate::timefmt;

/// Most feature reasons given per finding.
const MAX_REASONS: usize = 3;

/// "unusual for this account: only 0.02% of training events scored as high".
pub(crate) fn tail_sentence(detector: &str, tail: f64) -> String {
    if tail <= 0.0 {
        format!("{detector}: more anomalous than every event seen in training")
    } else {
        format!(
            "{detector}: only {:.3}% of training events scored as high",
            tail * 100.0
        )
    }
}

/// Up to three sentences on the features that stood out. With `by_histogram`, the
/// features whose values were rarest in training (at most 1% of events); otherwise
/// those outside the training 1st–99th percentile that did most to isolate the event.
pub(crate) fn feature_reasons(
    model: &Model,
    row: &[f32],
    by_histogram: bool,
    batch: &CtBatch,
    e: &CtEvent,
    file: &FileStats,
) -> Vec<String> {
    let width = row.len().min(FEATURES.len());
    let weight: Vec<f64> = if by_histogram {
        let c = model.hbos.contributions(row);
        (0..width)
            .map(|j| {
                let floor = model.hbos.features.get(j).map_or(0.0, |h| {
                    h.surprise.iter().copied().fold(f32::INFINITY, f32::min)
                });
                f64::from(c.get(j).copied().unwrap_or(0.0) - floor)
            })
            .collect()
    } else {
        model.forest.feature_attribution(row)
    };
    let mut cols: Vec<usize> = (0..width)
        .filter(|&j| {
            if by_histogram {
                weight.get(j).is_some_and(|&w| w >= 2.0)
            } else {
                let (lo, hi) = model.feature_bounds.get(j).copied().unwrap_or((0.0, 0.0));
                row[j] > hi || row[j] < lo
            }
        })
        .collect();
    cols.sort_by(|&a, &b| {
        let wa = weight.get(a).copied().unwrap_or(0.0);
        let wb = weight.get(b).copied().unwrap_or(0.0);
        wb.total_cmp(&wa)
    });
    let mut out: Vec<String> = Vec::new();
    for j in cols {
        if let Some(s) = sentence(j, row[j], batch, e, file) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if out.len() == MAX_REASONS {
            break;
        }
    }
    out
}

fn rarity_words(v: f32) -> String {
    if v >= 5.0 {
        "never seen in training".to_owned()
    } else {
        format!(
            "rare ({:.3}% of training events)",
            100.0 * 10f64.powf(-f64::from(v))
        )
    }
}

fn sentence(j: usize, v: f32, batch: &CtBatch, e: &CtEvent, file: &FileStats) -> Option<String> {
    let name = batch.str(e.name);
    let principal = batch.str(e.principal);
    let s = match Col::at(j)? {
        Col::Hour | Col::HourRarity => format!(
            "at {:02}:00 UTC, an hour with little activity in this account",
            timefmt::hour_of_day(e.time)
        ),
        Col::Weekend => "on a weekend".to_owned(),
        Col::IdRoot => "made by the root user".to_owned(),
        Col::IdIamUser | Col::IdRole | Col::IdService | Col::IdOther => {
            format!("made by a {} identity, uncommon here", e.identity.as_str())
        }
        Col::Console => "from a console session".to_owned(),
        Col::MfaMissing => "console session without MFA".to_owned(),
        Col::UaConsole
        | Col::UaCli
        | Col::UaSdk
        | Col::UaIac
        | Col::UaService
        | Col::UaScript
        | Col::UaOffensive
        | Col::UaOther => {
            format!(
                "client is {} ({})",
                e.ua.as_str(),
                truncate(batch.str(e.user_agent), 60)
            )
        }
        Col::ErrDenied => format!("the call was denied ({})", batch.str(e.error_code)),
        Col::ErrOther => format!("the call failed ({})", batch.str(e.error_code)),
        Col::ReadOnly => "a mutating call".to_owned(),
        Col::NameRarity => format!("`{name}` is {}", rarity_words(v)),
        Col::SourceRarity => format!("service {} is {}", batch.str(e.source), rarity_words(v)),
        Col::PrincipalRarity => format!("principal is {}", rarity_words(v)),
        Col::RegionRarity => format!("region {} is {}", batch.str(e.region), rarity_words(v)),
        Col::NewAction => format!("first `{name}` by this principal"),
        Col::NewNetwork => format!(
            "first call by this principal from network {}",
            network_of(batch.str(e.ip))
        ),
        Col::NewClient => format!(
            "first use of a {} client by this principal ({})",
            e.ua.as_str(),
            truncate(batch.str(e.user_agent), 60)
        ),
        Col::PublicUnusual => format!(
            "called from public address {} by a principal that works from private or service addresses",
            batch.str(e.ip)
        ),
        Col::PrincipalBurst => format!(
            "{} called `{name}` {} times within 5 minutes",
            short(principal),
            file.burst(e)
        ),
        Col::IpService | Col::IpPrivate | Col::IpPublic => {
            format!(
                "source address {} is unusual for this kind of call",
                batch.str(e.ip)
            )
        }
        Col::Sensitive => return None,
        Col::PrincipalEvents | Col::PrincipalActions | Col::PrincipalErrorRatio => {
            let s = file.get(e);
            format!(
                "{} made {} calls to {} different actions within 5 minutes, {:.0}% failed",
                short(principal),
                s.events,
                s.actions,
                100.0 * f64::from(s.errors) / f64::from(s.events.max(1))
            )
        }
        Col::LoginFailed => "failed console sign-in".to_owned(),
    };
    Some(s)
}

/// How a window feature is stored, read from its documented meaning: the
/// transform is undone for display only (the model keeps its inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// `log10(1 + x)` of a count or an amount.
    Log,
    /// A share, 0 to 1.
    Share,
    /// 0 or 1.
    Flag,
    /// `-log10` of a share of training observations.
    Rarity,
    /// The value itself.
    Plain,
}

impl Stored {
    fn of(d: &FeatureDef) -> Self {
        if d.meaning.starts_with("log10(1 + ") {
            Stored::Log
        } else if d.meaning.starts_with("share of") {
            Stored::Share
        } else if d.range == "0/1" {
            Stored::Flag
        } else if d.meaning.contains("-log10 the share") {
            Stored::Rarity
        } else {
            Stored::Plain
        }
    }
}

/// The unit a window feature is said in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A whole count (flows, requests, ports).
    Count,
    /// A mean of counts (packets per flow).
    Mean,
    /// Bytes, said as B, KB, MB, GB (powers of 1,000).
    Bytes,
    /// Milliseconds.
    Millis,
}

/// The sentence of each window column (`{}` is the value in its unit) and its unit;
/// flags give their two sentences and two words (`1|0|word 1|word 0`).
const WINDOW_PHRASES: &[(&str, &str, Unit)] = &[
    // vpcflow-v1
    ("flows", "{} flows in the minute", Unit::Count),
    ("packets", "{} packets sent in the minute", Unit::Count),
    ("bytes", "{} sent in the minute", Unit::Bytes),
    (
        "distinct_dsts",
        "{} distinct destination addresses",
        Unit::Count,
    ),
    (
        "distinct_ports",
        "{} distinct destination ports",
        Unit::Count,
    ),
    (
        "top_dst_share",
        "{} of its flows to its most contacted destination",
        Unit::Count,
    ),
    ("reject_ratio", "{} of its flows rejected", Unit::Count),
    (
        "packets_per_flow",
        "{} packets per flow on average",
        Unit::Mean,
    ),
    ("bytes_per_packet", "{} per packet on average", Unit::Bytes),
    (
        "src_internal",
        "the source address is private|the source address is public|private|public",
        Unit::Count,
    ),
    (
        "external_ratio",
        "{} of its flows to public addresses",
        Unit::Count,
    ),
    ("external_bytes", "{} sent to public addresses", Unit::Bytes),
    (
        "admin_port_ratio",
        "{} of its flows to admin ports",
        Unit::Count,
    ),
    (
        "port_rarity",
        "destination ports used by 1 in {} training flows (typical of its flows)",
        Unit::Count,
    ),
    (
        "new_pair_ratio",
        "{} of its flows on (source, port) pairs never seen in training",
        Unit::Count,
    ),
    (
        "new_dst_bytes",
        "{} sent to public networks never contacted in training",
        Unit::Bytes,
    ),
    // access_log-v1
    ("requests", "{} requests in the minute", Unit::Count),
    ("distinct_paths", "{} distinct paths", Unit::Count),
    (
        "top_path_share",
        "{} of its requests to its most requested path",
        Unit::Count,
    ),
    (
        "write_ratio",
        "{} of its requests were writes (POST, PUT, PATCH, DELETE)",
        Unit::Count,
    ),
    (
        "status_4xx_ratio",
        "{} of its responses were 4xx",
        Unit::Count,
    ),
    (
        "status_5xx_ratio",
        "{} of its responses were 5xx",
        Unit::Count,
    ),
    (
        "not_found_ratio",
        "{} of its responses were 404",
        Unit::Count,
    ),
    (
        "failed_logins",
        "{} failed logins in the minute",
        Unit::Count,
    ),
    (
        "login_ratio",
        "{} of its requests were login POSTs",
        Unit::Count,
    ),
    ("bytes_out", "{} sent back to the source", Unit::Bytes),
    ("mean_latency", "{} mean latency", Unit::Millis),
    (
        "payload_hits",
        "{} requests matching a payload detection",
        Unit::Count,
    ),
    (
        "scanner_ua",
        "a scanning tool's user agent|no scanning tool's user agent|yes|no",
        Unit::Count,
    ),
    ("distinct_agents", "{} distinct user agents", Unit::Count),
    (
        "path_rarity",
        "paths requested by 1 in {} training requests (typical of its requests)",
        Unit::Count,
    ),
    (
        "new_path_ratio",
        "{} of its requests to paths never requested in training",
        Unit::Count,
    ),
    (
        "internal",
        "the source address is private|the source address is public|private|public",
        Unit::Count,
    ),
];

/// A window feature's value (the model's input `v`) in the units a person knows,
/// with the training 1st–99th percentile in the same units: "142 flows in the
/// minute (training 1st–99th percentile: 0–3)", never the transformed value.
pub(crate) fn window_feature_reason(d: &FeatureDef, v: f32, lo: f32, hi: f32) -> String {
    let stored = Stored::of(d);
    let (phrase, unit) = WINDOW_PHRASES
        .iter()
        .find(|(name, _, _)| *name == d.name)
        .map_or(("{}", Unit::Count), |(_, p, u)| (*p, *u));
    let say = |x: f32| say_value(stored, unit, x, phrase);
    let what = match (stored, phrase.split_once('|')) {
        (Stored::Flag, Some((yes, rest))) => {
            let no = rest.split('|').next().unwrap_or(rest);
            (if v >= 0.5 { yes } else { no }).to_owned()
        }
        _ if phrase == "{}" => format!("{} {}", d.name.replace('_', " "), say(v)),
        _ => phrase.replacen("{}", &say(v), 1),
    };
    format!(
        "{what} (training 1st–99th percentile: {}–{})",
        say(lo),
        say(hi)
    )
}

/// One value in its unit.
fn say_value(stored: Stored, unit: Unit, x: f32, phrase: &str) -> String {
    let x = f64::from(x);
    match stored {
        Stored::Log => {
            let raw = (10f64.powf(x) - 1.0).max(0.0);
            match unit {
                Unit::Bytes => bytes(raw),
                Unit::Millis => format!("{} ms", amount(raw)),
                Unit::Mean => amount(raw),
                Unit::Count => count(raw),
            }
        }
        Stored::Share => format!("{:.0}%", 100.0 * x.clamp(0.0, 1.0)),
        Stored::Flag => {
            let words: Vec<&str> = phrase.split('|').skip(2).collect();
            match words.as_slice() {
                [yes, no] => (if x >= 0.5 { *yes } else { *no }).to_owned(),
                _ => format!("{x:.0}"),
            }
        }
        Stored::Rarity => {
            if x >= 7.0 {
                "none".to_owned()
            } else {
                count(10f64.powf(x))
            }
        }
        Stored::Plain => format!("{x:.2}"),
    }
}

/// A whole count with thousands separators.
fn count(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A mean: one decimal below 10, whole above.
fn amount(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.1}")
    } else {
        count(x)
    }
}

/// Bytes in B, KB, MB, GB, TB (powers of 1,000, as `exfiltration: N MB` says).
pub(crate) fn bytes(x: f64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if x < 1000.0 {
        return format!("{} B", x.round() as u64);
    }
    let mut v = x / 1000.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

fn short(principal: &str) -> &str {
    match short_principal(principal) {
        "" => "this principal",
        s => s,
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::vpcflow::{Col as FlowCol, FlowBatch, FlowWindows};
    use crate::features::window::lg;
    use crate::features::{access_log, vpcflow};
    use crate::sources::vpcflow::{FlowFormat, FlowLine};

    fn schemas() -> impl Iterator<Item = &'static FeatureDef> {
        vpcflow::features().iter().chain(access_log::features())
    }

    #[test]
    fn every_window_column_has_a_sentence_in_person_units() {
        for d in schemas() {
            assert!(
                WINDOW_PHRASES.iter().any(|(name, _, _)| *name == d.name),
                "{}: no sentence; add it to WINDOW_PHRASES",
                d.name
            );
        }
    }

    /// Regression: reasons showed the model's inputs ("flows = 1.80 (training
    /// 1st–99th percentile 0.30–1.36)", log10(1 + x) values).
    #[test]
    fn window_reasons_show_raw_quantities_never_transformed_values() {
        for d in schemas() {
            let (v, want) = match Stored::of(d) {
                Stored::Log => (
                    lg(142.0),
                    match d.name {
                        n if n.contains("bytes") => "142 B".to_owned(),
                        "mean_latency" => "142 ms".to_owned(),
                        _ => "142".to_owned(),
                    },
                ),
                Stored::Share => (0.37, "37%".to_owned()),
                Stored::Rarity => (3.0, "1 in 1,000".to_owned()),
                Stored::Flag => (1.0, String::new()),
                Stored::Plain => panic!("{}: a column with no known transform", d.name),
            };
            let r = window_feature_reason(d, v, lg(0.0), lg(3.0));
            assert!(r.contains(&want), "{}: {r}", d.name);
            assert!(!r.contains(" = "), "{}: {r}", d.name);
            assert!(
                !(d.name.contains('_') && r.contains(d.name)),
                "{}: the column name is not a unit: {r}",
                d.name
            );
            if Stored::of(d) == Stored::Log {
                assert!(
                    !r.contains(&format!("{v:.2}")),
                    "{}: shows the transformed {v:.2}: {r}",
                    d.name
                );
            }
        }
    }

    #[test]
    fn counts_bytes_and_shares_read_as_a_person_says_them() {
        let def = |name: &str| {
            schemas()
                .find(|d| d.name == name)
                .copied()
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(
            window_feature_reason(&def("flows"), lg(142.0), lg(0.0), lg(3.0)),
            "142 flows in the minute (training 1st–99th percentile: 0–3)"
        );
        assert_eq!(
            window_feature_reason(&def("bytes"), lg(12_400_000.0), lg(800.0), lg(56_000.0)),
            "12 MB sent in the minute (training 1st–99th percentile: 800 B–56 KB)"
        );
        assert_eq!(
            window_feature_reason(&def("reject_ratio"), 0.9, 0.0, 0.05),
            "90% of its flows rejected (training 1st–99th percentile: 0%–5%)"
        );
        assert_eq!(
            window_feature_reason(&def("internal"), 0.0, 1.0, 1.0),
            "the source address is public (training 1st–99th percentile: private–private)"
        );
        assert_eq!(
            window_feature_reason(&def("requests"), lg(1_228.0), 0.0, lg(40.0)),
            "1,228 requests in the minute (training 1st–99th percentile: 0–40)"
        );
        assert_eq!(bytes(1_500_000_000.0), "1.5 GB");
    }

    /// The reason for a real window names the window's own counts: the flows,
    /// ports and bytes the feature encoder counted, read back from the row.
    #[test]
    fn a_flow_window_reason_names_the_windows_raw_counts() {
        let f = FlowFormat::default_v2();
        let mut b = FlowBatch::default();
        for i in 0..142u32 {
            let line = format!(
                "2 123456789012 eni-0a1b2c3d 203.0.113.9 10.0.1.{} 51000 {} 6 2 120 1709547300 1709547310 REJECT OK",
                i % 7,
                1000 + i
            );
            if let Ok(FlowLine::Record(r)) = f.parse_line(&line) {
                b.push(&i.to_string(), &r);
            }
        }
        let w = FlowWindows::build(&b, None);
        let s = w.src.first().unwrap_or_else(|| panic!("one source window"));
        assert_eq!(s.flows, 142);
        let row = w.row(s);
        let defs = vpcflow::features();
        let say = |c: FlowCol| {
            let j = c as usize;
            window_feature_reason(&defs[j], row[j], 0.0, 0.0)
        };
        assert!(
            say(FlowCol::Flows).starts_with("142 flows in the minute"),
            "{}",
            say(FlowCol::Flows)
        );
        assert!(
            say(FlowCol::DistinctPorts)
                .starts_with(&format!("{} distinct destination ports", s.distinct_ports)),
            "{}",
            say(FlowCol::DistinctPorts)
        );
        assert!(
            say(FlowCol::Bytes).starts_with("17 KB sent in the minute"),
            "{} ({} bytes)",
            say(FlowCol::Bytes),
            s.bytes
        );
        assert!(say(FlowCol::RejectRatio).starts_with("100% of its flows rejected"));
    }
}
