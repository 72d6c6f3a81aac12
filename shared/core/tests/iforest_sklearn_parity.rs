//! Parity with scikit-learn: a forest exported by the Python reference pipeline, loaded
//! with `IsolationForest::from_sklearn_json`, must score every event of the fixture set
//! exactly as scikit-learn did (see `tests/fixtures/sklearn/README.md`).
//!
//! The 20 features are rebuilt here the way the reference's docstring specifies, from the
//! frequency tables and top sources stored in `model.json`.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::Array2;
use serde_json::Value;
use trailhound_core::models::iforest::IsolationForest;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sklearn");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// Records of every `.json.gz` in `score/`, in sorted path order as the reference reads.
fn score_records() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("score"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scoring files in {FIXTURES}/score");
    let mut records = Vec::new();
    for f in files {
        let mut raw = Vec::new();
        GzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        let doc: Value = serde_json::from_slice(&raw).unwrap();
        records.extend(doc["Records"].as_array().unwrap().iter().cloned());
    }
    records
}

/// A non-empty string, the only kind of string Python's `or` chain keeps.
fn truthy(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A non-empty object, as Python's truth test sees a dict.
fn truthy_obj(v: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
    v.and_then(Value::as_object).filter(|m| !m.is_empty())
}

fn principal(r: &Value) -> String {
    let ui = truthy_obj(r.get("userIdentity"));
    let get = |k: &str| ui.and_then(|m| truthy(m.get(k)));
    let issuer_arn = ui
        .and_then(|m| truthy_obj(m.get("sessionContext")))
        .and_then(|sc| truthy_obj(sc.get("sessionIssuer")))
        .and_then(|iss| truthy(iss.get("arn")));
    issuer_arn
        .or_else(|| get("arn"))
        .or_else(|| get("invokedBy"))
        .or_else(|| get("principalId"))
        .or_else(|| get("type"))
        .unwrap_or("")
        .to_string()
}

fn ua_category(ua: Option<&str>) -> usize {
    let Some(ua) = ua.filter(|u| !u.is_empty()) else {
        return 4;
    };
    let u = ua.to_lowercase();
    if u.starts_with("mozilla/")
        || u == "aws internal"
        || u.contains("console.amazonaws.com")
        || u.contains("signin.amazonaws.com")
    {
        0
    } else if u.starts_with("aws-cli/") {
        1
    } else if ["boto3", "botocore", "aws-sdk-", "terraform", "apn/1.0"]
        .iter()
        .any(|k| u.contains(k))
    {
        2
    } else if u.ends_with(".amazonaws.com") {
        3
    } else {
        4
    }
}

/// UTC hour and weekday (Mon=0) of an ISO 8601 `eventTime` such as `2024-03-04T10:15:30Z`.
fn hour_weekday(t: &str) -> (f32, f32) {
    assert!(t.ends_with('Z'), "only UTC times in the fixtures: {t}");
    let num = |a: usize, b: usize| t[a..b].parse::<i64>().unwrap();
    let (y, m, d, h) = (num(0, 4), num(5, 7), num(8, 10), num(11, 13));
    // days since 1970-01-01 (a Thursday), civil-calendar algorithm
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (h as f32, (days + 3).rem_euclid(7) as f32)
}

fn lookup(table: &Value, key: &str) -> f32 {
    table.get(key).and_then(Value::as_f64).unwrap_or(0.0) as f32
}

fn featurise(records: &[Value], model: &Value) -> Array2<f32> {
    let sources: Vec<&str> = model["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let k = sources.len();
    let mut x = Array2::<f32>::zeros((records.len(), 6 + 5 + k + 1));
    for (i, r) in records.iter().enumerate() {
        let field = |name: &str| r.get(name).and_then(Value::as_str);
        let (hour, weekday) = hour_weekday(field("eventTime").unwrap());
        x[[i, 0]] = hour;
        x[[i, 1]] = weekday;
        x[[i, 2]] = if truthy(r.get("errorCode")).is_some() {
            1.0
        } else {
            0.0
        };
        x[[i, 3]] = lookup(&model["user_freq"], &principal(r));
        x[[i, 4]] = field("sourceIPAddress").map_or(0.0, |v| lookup(&model["ip_freq"], v));
        x[[i, 5]] = field("eventName").map_or(0.0, |v| lookup(&model["name_freq"], v));
        x[[i, 6 + ua_category(field("userAgent"))]] = 1.0;
        let src = field("eventSource")
            .and_then(|s| sources.iter().position(|t| *t == s))
            .unwrap_or(k);
        x[[i, 11 + src]] = 1.0;
    }
    x
}

fn jsonl(name: &str) -> Vec<Value> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn scores_match_scikit_learn_on_every_event() {
    let json = std::fs::read_to_string(fixture("model.json")).unwrap();
    let model: Value = serde_json::from_str(&json).unwrap();
    let forest = IsolationForest::from_sklearn_json(&json).unwrap();
    assert_eq!((forest.n_features(), forest.n_trees()), (20, 100));
    let offset = model["offset"].as_f64().unwrap();

    let records = score_records();
    let full = jsonl("scores_full.jsonl");
    let preds = jsonl("preds.jsonl");
    assert_eq!(records.len(), full.len());
    assert_eq!(records.len(), preds.len());

    let x = featurise(&records, &model);
    let ours = forest.score(x.view());
    let (mut max_diff, mut anomalies) = (0.0f64, 0);
    for (i, r) in records.iter().enumerate() {
        let id = r["eventID"].as_str().unwrap();
        assert_eq!(
            full[i]["eventID"].as_str(),
            Some(id),
            "row {i}: order differs"
        );
        assert_eq!(
            preds[i]["eventID"].as_str(),
            Some(id),
            "row {i}: order differs"
        );
        let theirs = -full[i]["score"].as_f64().unwrap();
        let diff = (ours[i] - theirs).abs();
        max_diff = max_diff.max(diff);
        assert!(
            diff <= 1e-12,
            "event {id}: ours {} sklearn {theirs}",
            ours[i]
        );
        // preds.jsonl holds 10 decimals: the rounded score and the label must agree too
        let rounded = -preds[i]["score"].as_f64().unwrap();
        assert!(
            (ours[i] - rounded).abs() <= 1e-10,
            "event {id}: vs preds.jsonl"
        );
        let label = if -ours[i] < offset { -1 } else { 1 };
        assert_eq!(Some(label), preds[i]["label"].as_i64(), "event {id}: label");
        anomalies += usize::from(label == -1);
        assert_eq!(forest.score_row(x.row(i).as_slice().unwrap()), ours[i]);
    }
    println!(
        "sklearn parity: {} events, {anomalies} anomalies, max abs diff {max_diff:e}",
        records.len()
    );
}
