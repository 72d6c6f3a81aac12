//! Mapping between findings or summaries and DynamoDB items. The table design is in
//! `docs/aws.md`; the attribute names here are part of it.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use trailhound_core::ports::ObjectSummary;
use trailhound_core::{Detection, Finding, Severity, Triage};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Sort key of finding items.
pub(crate) const FINDING_SK: &str = "FINDING";
/// Sort key of object summary items.
pub(crate) const SUMMARY_SK: &str = "SUMMARY";
const FINDING_PREFIX: &str = "FINDING#";

/// Why an item could not be read back as a finding.
#[derive(Debug, thiserror::Error)]
#[error("item {pk} is not a finding: attribute {attribute} is missing or has the wrong type")]
pub struct ItemError {
    /// The item's partition key.
    pub pk: String,
    /// The offending attribute.
    pub attribute: &'static str,
}

/// The key of a finding's item.
pub(crate) fn finding_key(finding_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(format!("{FINDING_PREFIX}{finding_id}"))),
        ("sk".to_owned(), s(FINDING_SK)),
    ])
}

/// The finding id of a finding item's partition key.
pub(crate) fn finding_id_of(item: &Item) -> Option<&str> {
    match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.strip_prefix(FINDING_PREFIX),
        _ => None,
    }
}

/// Whether an item (or its projection) says the finding was alerted.
pub(crate) fn alerted_of(item: &Item) -> bool {
    matches!(item.get("alerted"), Some(AttributeValue::Bool(true)))
}

/// The item of a new finding: every field, `alerted = false`, the GSI keys and the
/// TTL attribute.
pub(crate) fn finding_item(f: &Finding, expires_at: i64) -> Item {
    let mut item = finding_key(&f.finding_id);
    let mut put = |k: &str, v: AttributeValue| {
        item.insert(k.to_owned(), v);
    };
    put("finding_id", s(&f.finding_id));
    put("event_id", s(&f.event_id));
    put("source", s(&f.source));
    put("time", s(&f.time));
    put("account", s(&f.account));
    put("region", s(&f.region));
    put("principal", s(&f.principal));
    put("action", s(&f.action));
    put("score", n(f.score));
    put("severity_score", n(f.severity_score));
    put(
        "detections",
        AttributeValue::L(f.detections.iter().map(detection).collect()),
    );
    put(
        "reasons",
        AttributeValue::L(f.reasons.iter().map(s).collect()),
    );
    put("model_version", s(&f.model_version));
    if let Some(reason) = &f.triage.suppressed_by {
        put("suppressed_by", s(reason));
    }
    if let Some(first) = &f.triage.duplicate_of {
        put("duplicate_of", s(first));
    }
    put("repeats", AttributeValue::N(f.triage.repeats.to_string()));
    put("alerted", AttributeValue::Bool(false));
    put("expires_at", AttributeValue::N(expires_at.to_string()));
    match f.severity {
        Some(sev) => {
            put("severity", s(sev.as_str()));
            // GSI `by-severity-time`: key attributes must be non-empty, so findings
            // without a severity (never stored by the pipeline) stay out of it.
            put("gsi1pk", s(sev.as_upper()));
            put("gsi1sk", s(format!("{}#{}", f.time, f.finding_id)));
        }
        None => put("severity", AttributeValue::Null(true)),
    }
    item
}

/// Reads a finding item back: the finding and whether it was alerted.
pub fn finding_from_item(item: &Item) -> Result<(Finding, bool), ItemError> {
    let pk = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => String::new(),
    };
    let err = |attribute| ItemError {
        pk: pk.clone(),
        attribute,
    };
    let get_s = |k: &'static str| match item.get(k) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(err(k)),
    };
    let get_n = |k: &'static str| match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse::<f64>().map_err(|_| err(k)),
        _ => Err(err(k)),
    };
    let severity = match item.get("severity") {
        Some(AttributeValue::S(v)) => Some(v.parse::<Severity>().map_err(|_| err("severity"))?),
        _ => None,
    };
    let detections = match item.get("detections") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|d| match d {
                AttributeValue::M(m) => match m.get("id") {
                    Some(AttributeValue::S(id)) => Ok(Detection {
                        id: id.clone(),
                        technique: match m.get("technique") {
                            Some(AttributeValue::S(t)) => Some(t.clone()),
                            _ => None,
                        },
                    }),
                    _ => Err(err("detections")),
                },
                _ => Err(err("detections")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(err("detections")),
    };
    let reasons = match item.get("reasons") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|r| match r {
                AttributeValue::S(r) => Ok(r.clone()),
                _ => Err(err("reasons")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(err("reasons")),
    };
    let finding = Finding {
        finding_id: get_s("finding_id")?,
        event_id: get_s("event_id")?,
        source: get_s("source")?,
        time: get_s("time")?,
        account: get_s("account")?,
        region: get_s("region")?,
        principal: get_s("principal")?,
        action: get_s("action")?,
        score: get_n("score")?,
        severity,
        severity_score: get_n("severity_score")?,
        detections,
        reasons,
        model_version: get_s("model_version")?,
        triage: Triage {
            suppressed_by: get_s("suppressed_by").ok(),
            duplicate_of: get_s("duplicate_of").ok(),
            repeats: match item.get("repeats") {
                Some(AttributeValue::N(v)) => v.parse().map_err(|_| err("repeats"))?,
                _ => 0,
            },
        },
    };
    Ok((finding, alerted_of(item)))
}

/// The summary item of one processed object (overwritten on every run).
pub(crate) fn summary_item(sum: &ObjectSummary, processed_at: &str, expires_at: i64) -> Item {
    let findings: HashMap<String, AttributeValue> = Severity::ALL
        .iter()
        .map(|sev| {
            let count = sum.findings.get(sev).copied().unwrap_or(0);
            (
                sev.as_str().to_owned(),
                AttributeValue::N(count.to_string()),
            )
        })
        .collect();
    HashMap::from([
        (
            "pk".to_owned(),
            s(format!("OBJECT#{}/{}", sum.object.bucket, sum.object.key)),
        ),
        ("sk".to_owned(), s(SUMMARY_SK)),
        ("bucket".to_owned(), s(&sum.object.bucket)),
        ("key".to_owned(), s(&sum.object.key)),
        ("source".to_owned(), s(&sum.source)),
        (
            "records".to_owned(),
            AttributeValue::N(sum.records.to_string()),
        ),
        (
            "skipped".to_owned(),
            AttributeValue::N(sum.skipped.to_string()),
        ),
        ("findings".to_owned(), AttributeValue::M(findings)),
        (
            "alerts".to_owned(),
            AttributeValue::N(sum.alerts.to_string()),
        ),
        (
            "suppressed".to_owned(),
            AttributeValue::N(sum.suppressed.to_string()),
        ),
        (
            "deduplicated".to_owned(),
            AttributeValue::N(sum.deduplicated.to_string()),
        ),
        ("model_version".to_owned(), s(&sum.model_version)),
        (
            "duration_ms".to_owned(),
            AttributeValue::N(sum.duration_ms.to_string()),
        ),
        ("processed_at".to_owned(), s(processed_at)),
        (
            "expires_at".to_owned(),
            AttributeValue::N(expires_at.to_string()),
        ),
    ])
}

fn detection(d: &Detection) -> AttributeValue {
    let mut m = HashMap::from([("id".to_owned(), s(&d.id))]);
    if let Some(t) = &d.technique {
        m.insert("technique".to_owned(), s(t));
    }
    AttributeValue::M(m)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A DynamoDB number. Non-finite values (never produced by scoring) become 0, and
/// magnitudes below DynamoDB's smallest (1E-130) round to 0, so a put never fails on
/// a number.
fn n(v: f64) -> AttributeValue {
    let v = if v.is_finite() && v.abs() >= 1e-100 {
        v
    } else {
        0.0
    };
    AttributeValue::N(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        Finding {
            finding_id: "0123456789abcdef0123456789abcdef".into(),
            event_id: "5f4d6c1e-0000-4000-8000-000000000001".into(),
            source: "cloudtrail".into(),
            time: "2024-03-04T10:15:30Z".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            principal: "arn:aws:iam::123456789012:user/alice".into(),
            action: "cloudtrail.amazonaws.com:StopLogging".into(),
            score: 0.731_234_5,
            severity: Some(Severity::Critical),
            severity_score: 9.5,
            detections: vec![
                Detection {
                    id: "ct.logging.stop_logging".into(),
                    technique: Some("T1562.008".into()),
                },
                Detection {
                    id: "iforest".into(),
                    technique: None,
                },
            ],
            reasons: vec!["CloudTrail logging was stopped".into()],
            model_version: "cloudtrail-0a1b2c3d".into(),
            triage: Triage::default(),
        }
    }

    #[test]
    fn findings_round_trip_through_items() {
        let f = finding();
        let item = finding_item(&f, 1_800_000_000);
        let (back, alerted) = finding_from_item(&item).unwrap();
        assert_eq!(back, f);
        assert!(!alerted);
        assert_eq!(finding_id_of(&item), Some(f.finding_id.as_str()));
    }

    #[test]
    fn triage_round_trips_and_items_written_before_it_still_read() {
        let mut f = finding();
        f.triage = Triage {
            suppressed_by: Some("CI rotates keys".into()),
            duplicate_of: Some("ffffffffffffffffffffffffffffffff".into()),
            repeats: 0,
        };
        let item = finding_item(&f, 1_800_000_000);
        assert_eq!(finding_from_item(&item).unwrap().0, f);
        let mut old = finding_item(&finding(), 1_800_000_000);
        old.remove("repeats");
        assert_eq!(finding_from_item(&old).unwrap().0, finding());
    }

    #[test]
    fn finding_items_carry_gsi_keys_and_ttl() {
        let item = finding_item(&finding(), 1_800_000_000);
        assert_eq!(item["gsi1pk"], s("CRITICAL"));
        assert_eq!(
            item["gsi1sk"],
            s("2024-03-04T10:15:30Z#0123456789abcdef0123456789abcdef")
        );
        assert_eq!(item["expires_at"], AttributeValue::N("1800000000".into()));
        assert_eq!(item["pk"], s("FINDING#0123456789abcdef0123456789abcdef"));
        assert_eq!(item["sk"], s("FINDING"));
    }

    #[test]
    fn numbers_are_always_valid_for_dynamodb() {
        assert_eq!(n(f64::NAN), AttributeValue::N("0".into()));
        assert_eq!(n(1e-300), AttributeValue::N("0".into()));
        assert_eq!(n(0.5), AttributeValue::N("0.5".into()));
    }

    #[test]
    fn summaries_list_every_severity() {
        let sum = ObjectSummary {
            object: trailhound_core::ports::ObjectRef {
                bucket: "trail".into(),
                key: "AWSLogs/x.json.gz".into(),
            },
            source: "cloudtrail".into(),
            records: 10,
            skipped: 1,
            findings: [(Severity::High, 2)].into_iter().collect(),
            alerts: 2,
            suppressed: 1,
            deduplicated: 3,
            model_version: "none".into(),
            duration_ms: 5,
        };
        let item = summary_item(&sum, "2024-03-04T10:15:30Z", 1);
        assert_eq!(item["pk"], s("OBJECT#trail/AWSLogs/x.json.gz"));
        let AttributeValue::M(f) = &item["findings"] else {
            panic!("findings is not a map")
        };
        assert_eq!(f["high"], AttributeValue::N("2".into()));
        assert_eq!(f["low"], AttributeValue::N("0".into()));
    }
}
