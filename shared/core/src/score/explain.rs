//! Reasons in words: which features made the forest isolate an event, said the way
//! an analyst would say them.

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
