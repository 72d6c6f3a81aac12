use super::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A bucket in memory that records the listings asked of it.
#[derive(Clone, Default)]
struct FakeBucket {
    keys: Arc<Vec<String>>,
    /// (delimiter listing?, prefix) of every call.
    calls: Arc<Mutex<Vec<(bool, String)>>>,
}

impl FakeBucket {
    fn new(keys: &[String]) -> Self {
        Self {
            keys: Arc::new(keys.to_vec()),
            calls: Arc::default(),
        }
    }

    fn object_listings(&self) -> Vec<String> {
        let calls = self.calls.lock().unwrap();
        let mut v: Vec<String> = calls
            .iter()
            .filter(|(d, _)| !d)
            .map(|(_, p)| p.clone())
            .collect();
        v.sort();
        v
    }
}

impl Lister for FakeBucket {
    async fn folders(&self, _bucket: &str, prefix: &str) -> Result<Vec<String>> {
        self.calls.lock().unwrap().push((true, prefix.to_owned()));
        let set: BTreeSet<String> = self
            .keys
            .iter()
            .filter_map(|k| k.strip_prefix(prefix))
            .filter_map(|rest| rest.split_once('/'))
            .map(|(dir, _)| format!("{prefix}{dir}/"))
            .collect();
        Ok(set.into_iter().collect())
    }

    async fn objects(&self, bucket: &str, prefix: &str) -> Result<Vec<LogObject>> {
        self.calls.lock().unwrap().push((false, prefix.to_owned()));
        Ok(self
            .keys
            .iter()
            .filter(|k| k.starts_with(prefix))
            .map(|k| LogObject {
                object: ObjectRef {
                    bucket: bucket.to_owned(),
                    key: k.clone(),
                },
                size: 10,
            })
            .collect())
    }
}

fn day(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d)
}

/// A log file and a digest for `base/ACCOUNT/…/REGION/date`.
fn trail_keys(base: &str, accounts: &[&str], regions: &[&str], days: &[&str]) -> Vec<String> {
    let mut keys = Vec::new();
    for a in accounts {
        for r in regions {
            for d in days {
                let compact = d.replace('/', "");
                keys.push(format!(
                    "{base}{a}/CloudTrail/{r}/{d}/{a}_CloudTrail_{r}_{compact}T0005Z_abc.json.gz"
                ));
                keys.push(format!(
                    "{base}{a}/CloudTrail-Digest/{r}/{d}/{a}_CloudTrail-Digest_{r}_t_{r}_{compact}T0100Z.json.gz"
                ));
            }
        }
    }
    keys
}

fn run<F: Future>(f: F) -> F::Output {
    crate::commands::block_on(f)
}

#[test]
fn parses_bucket_and_prefix() {
    assert_eq!(
        parse("s3://b/AWSLogs/1/").unwrap(),
        ("b".into(), "AWSLogs/1/".into())
    );
    assert_eq!(parse("s3://b").unwrap(), ("b".into(), String::new()));
    assert!(parse("s3:///x").is_err());
    assert!(parse("/local/path").is_err());
}

#[test]
fn since_counts_today_as_the_first_day() {
    let today = day(2024, 5, 10);
    for (spec, want) in [
        ("1d", day(2024, 5, 10)),
        ("2d", day(2024, 5, 9)),
        ("14d", day(2024, 4, 27)),
        ("2024-05-01", day(2024, 5, 1)),
        (" 3d ", day(2024, 5, 8)),
    ] {
        assert_eq!(since_first_day(spec, today).unwrap(), want, "{spec}");
    }
    for bad in [
        "0d",
        "d",
        "-1d",
        "14",
        "2024-13-01",
        "2024-02-30",
        "2024/05/01",
        "14h",
    ] {
        assert!(since_first_day(bad, today).is_err(), "{bad} was accepted");
    }
}

#[test]
fn reads_the_day_of_cloudtrail_keys() {
    let d = Some(day(2024, 3, 5));
    for (key, want) in [
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/05/f.json.gz",
            d,
        ),
        (
            "p/AWSLogs/o-abcdefghij/123456789012/CloudTrail/eu-west-1/2024/03/05/f.json.gz",
            d,
        ),
        // a key prefix that looks like a date does not count before CloudTrail/REGION/
        (
            "2023/01/01/AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/05/f.json.gz",
            d,
        ),
        ("/tmp/sim/2024/03/05/f.json.gz", d),
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/f.json.gz",
            None,
        ),
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/13/05/f.json.gz",
            None,
        ),
        ("2024/03/05", None),
        ("f.json.gz", None),
    ] {
        assert_eq!(key_day(key), want, "{key}");
    }
}

#[test]
fn classifies_levels_of_the_layout() {
    for (prefix, want) in [
        ("", Level::Root),
        ("myprefix/", Level::Root),
        ("AWSLogs/", Level::AwsLogs),
        ("a/b/AWSLogs/", Level::AwsLogs),
        ("AWSLogs/o-abcdefghij/", Level::Org),
        ("AWSLogs/o-abcdefghij/123456789012/", Level::Account),
        ("AWSLogs/123456789012/", Level::Account),
        ("AWSLogs/123456789012/CloudTrail/", Level::Service),
        (
            "AWSLogs/o-abcdefghij/123456789012/CloudTrail/us-east-1/",
            Level::Region,
        ),
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/",
            Level::Flat,
        ),
        ("AWSLogs/123456789012/CloudTrail-Digest/", Level::Flat),
        ("AWSLogs/12345/", Level::Flat),
        ("AWSLogs/o-x/", Level::Flat),
    ] {
        assert_eq!(level(prefix), want, "{prefix:?}");
    }
}

#[test]
fn lists_only_the_days_of_the_window_of_an_organization_trail_with_a_prefix() {
    let days = ["2024/05/08", "2024/05/09", "2024/05/10"];
    let accounts = ["111111111111", "222222222222"];
    let regions = ["us-east-1", "eu-west-1"];
    let mut keys = trail_keys("org/AWSLogs/o-abcdefghij/", &accounts, &regions, &days);
    // another trail in the same bucket, and noise beside the layout
    keys.extend(trail_keys(
        "other/AWSLogs/",
        &["333333333333"],
        &regions,
        &days,
    ));
    keys.push(
        "org/AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2024/05/10/notes.txt".into(),
    );
    keys.push("org/AWSLogs/o-abcdefghij/111111111111/Config/us-east-1/2024/05/10/c.json.gz".into());
    let bucket = FakeBucket::new(&keys);
    let window = Some((day(2024, 5, 9), day(2024, 5, 10)));
    let got = run(find(&bucket, "b", "org", window)).unwrap();
    let want: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.starts_with("org/")
                && k.contains("/CloudTrail/")
                && k.ends_with(".json.gz")
                && !k.contains("/2024/05/08/")
        })
        .collect();
    assert_eq!(want.len(), 2 * 2 * 2);
    let got_keys: Vec<&String> = got.objects.iter().map(|o| &o.object.key).collect();
    assert_eq!(got_keys.len(), want.len(), "{got_keys:#?}");
    for k in want {
        assert!(got_keys.contains(&k), "{k} missing");
    }
    // one listing per account, region and day of the window, none wider
    let listed = bucket.object_listings();
    assert_eq!(listed.len(), 2 * 2 * 2, "{listed:#?}");
    assert!(
        listed
            .iter()
            .all(|p| p.ends_with("/2024/05/09/") || p.ends_with("/2024/05/10/")),
        "{listed:#?}"
    );
    assert_eq!(got.digests, 0, "digest folders are never listed");
}

#[test]
fn finds_every_trail_of_a_bucket_without_a_window() {
    let days = ["2024/05/09", "2024/05/10"];
    let mut keys = trail_keys("AWSLogs/", &["111111111111"], &["us-east-1"], &days);
    keys.extend(trail_keys(
        "a/b/AWSLogs/o-abcdefghij/",
        &["222222222222"],
        &["eu-west-1"],
        &days,
    ));
    let bucket = FakeBucket::new(&keys);
    let got = run(find(&bucket, "b", "", None)).unwrap();
    assert_eq!(got.objects.len(), 4, "{:#?}", got.objects);
    let listed = bucket.object_listings();
    assert_eq!(
        listed,
        [
            "AWSLogs/111111111111/CloudTrail/us-east-1/",
            "a/b/AWSLogs/o-abcdefghij/222222222222/CloudTrail/eu-west-1/"
        ]
    );
}

#[test]
fn an_unknown_layout_is_listed_flat_and_filtered_by_key_date() {
    let keys: Vec<String> = [
        "export/2024/05/08/a.json.gz",
        "export/2024/05/10/b.json.gz",
        "export/2024/05/10/b_CloudTrail-Digest_x.json.gz",
        "export/undated.json.gz",
    ]
    .map(String::from)
    .to_vec();
    let bucket = FakeBucket::new(&keys);
    let got = run(find(
        &bucket,
        "b",
        "export/",
        Some((day(2024, 5, 9), day(2024, 5, 10))),
    ))
    .unwrap();
    let got_keys: Vec<&str> = got.objects.iter().map(|o| o.object.key.as_str()).collect();
    assert_eq!(got_keys, ["export/2024/05/10/b.json.gz"]);
    assert_eq!((got.digests, got.undated), (1, 1));
    assert_eq!(bucket.object_listings(), ["export/"]);
}

#[test]
fn a_url_naming_one_file_reads_that_file() {
    let keys = trail_keys(
        "AWSLogs/",
        &["111111111111"],
        &["us-east-1"],
        &["2024/05/10"],
    );
    let bucket = FakeBucket::new(&keys);
    let got = run(find(&bucket, "b", &keys[0], None)).unwrap();
    assert_eq!(got.objects.len(), 1);
    assert_eq!(got.objects[0].object.key, keys[0]);
}

#[test]
fn a_prefix_without_a_slash_names_the_folder() {
    let mut keys = trail_keys(
        "trail/AWSLogs/",
        &["111111111111"],
        &["us-east-1"],
        &["2024/05/10"],
    );
    keys.extend(trail_keys(
        "trail2/AWSLogs/",
        &["111111111111"],
        &["us-east-1"],
        &["2024/05/10"],
    ));
    let bucket = FakeBucket::new(&keys);
    let got = run(find(&bucket, "b", "trail", None)).unwrap();
    assert_eq!(got.objects.len(), 1, "{:#?}", got.objects);
    assert!(got.objects[0].object.key.starts_with("trail/"));
}
