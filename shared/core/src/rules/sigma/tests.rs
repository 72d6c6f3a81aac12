//! The engine against the corpus in `tests/fixtures/sigma/` (rules, their test
//! records, and rules that must fail to load), plus targeted cases.

use super::*;
use crate::rules::check::{self, Expect};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma")
}

fn record(name: &str, extra: serde_json::Value) -> Value {
    let mut r = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob",
                         "accountId": "123456789012", "userName": "bob"},
        "eventTime": "2024-03-04T10:15:30Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.15.30",
        "requestParameters": null,
        "responseElements": null,
        "eventID": "c1d2e3f4-0000-4000-8000-000000000001",
        "recipientAccountId": "123456789012"
    });
    if let (Some(m), serde_json::Value::Object(x)) = (r.as_object_mut(), extra) {
        m.extend(x);
    }
    r
}

fn load(yaml: &str) -> RuleSet {
    let (set, errors) = RuleSet::from_yaml_strs(&[("inline.yml", yaml)]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn hit(set: &RuleSet, r: &Value) -> bool {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let c = set.candidates(&s("eventSource"), &s("eventName"));
    !set.evaluate(&c, r, 0).rules.is_empty()
}

#[test]
fn corpus_rules_load_and_pass_their_test_records() {
    let dir = fixtures().join("rules");
    let (set, errors) = RuleSet::load_dir(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.len(), 12, "rules in the corpus");
    let outcomes = check::dir_outcomes(&set, &dir);
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // Every rule file has matching and non-matching records.
    for r in set.rules() {
        for e in [Expect::Match, Expect::NoMatch] {
            assert!(
                outcomes
                    .iter()
                    .any(|o| o.rule == r.file_stem() && o.expect == e),
                "{} lacks {}",
                r.file_stem(),
                e.as_str()
            );
        }
    }
    assert!(outcomes.len() >= 30, "{} test files", outcomes.len());
}

#[test]
fn bad_rules_are_reported_by_file_with_the_reason_and_the_rest_load() {
    let (set, errors) = RuleSet::load_dir(&fixtures().join("bad"));
    let ids: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["good-among-bad"]);
    let want: &[(&str, &str)] = &[
        ("aggregation.yml", "correlation rule"),
        ("bad_condition.yml", "missing `)`"),
        ("bad_regex.yml", "bad regular expression"),
        ("dangling_correlation.yml", "unknown rules: no_such_rule"),
        ("missing_detection.yml", "missing `detection`"),
        ("not_yaml.yml", "not valid YAML"),
        ("unknown_modifier.yml", "unknown modifier `containz`"),
        ("unknown_search.yml", "`filter`, which is not a search"),
        (
            "unsupported_modifier.yml",
            "unsupported modifier `base64offset`",
        ),
    ];
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    for (file, reason) in want {
        assert!(
            errors
                .iter()
                .any(|e| e.file.ends_with(file) && e.reason.contains(reason)),
            "{file}: {reason} not in {errors:#?}"
        );
    }
}

#[test]
fn levels_tags_and_origins_become_metadata() {
    let (set, _) = RuleSet::load_dir(&fixtures().join("rules"));
    let r = set
        .rules()
        .iter()
        .find(|r| r.file_stem() == "cloudtrail_stopped")
        .cloned();
    let Some(r) = r else {
        panic!("cloudtrail_stopped not loaded")
    };
    assert_eq!(
        r.title,
        "CloudTrail logging stopped or trail deleted (succeeded)"
    );
    assert_eq!(r.level, Level::Critical);
    assert_eq!(r.severity, 9.5);
    assert_eq!(r.techniques, ["T1562.008"]);
    assert!(matches!(r.origin, Origin::File(_)));
    assert_eq!(technique_of_tag("attack.t1098"), Some("T1098".to_owned()));
    assert_eq!(technique_of_tag("attack.persistence"), None);
    assert_eq!(technique_of_tag("cve.2021-1234"), None);
    let levels = ["informational", "low", "medium", "high", "critical"];
    let scores: Vec<f64> = levels
        .iter()
        .filter_map(|l| Level::parse(l))
        .map(Level::severity)
        .collect();
    assert_eq!(scores, [2.0, 3.0, 5.5, 7.5, 9.5]);
}

#[test]
fn null_means_absent_or_null_and_exists_checks_presence() {
    let set = load(
        "title: t\ndetection:\n  sel:\n    eventName: StopLogging\n    errorCode: null\n  condition: sel\n",
    );
    assert!(hit(&set, &record("StopLogging", serde_json::json!({}))));
    assert!(hit(
        &set,
        &record("StopLogging", serde_json::json!({"errorCode": null}))
    ));
    assert!(!hit(
        &set,
        &record(
            "StopLogging",
            serde_json::json!({"errorCode": "AccessDenied"})
        )
    ));
}

#[test]
fn rules_are_indexed_by_event_name_and_source() {
    let (set, _) = RuleSet::load_dir(&fixtures().join("rules"));
    let ids = |src: &str, name: &str| -> Vec<String> {
        set.candidates(src, name)
            .into_iter()
            .filter_map(|i| set.rule(i).map(|r| r.file_stem().to_owned()))
            .collect()
    };
    // Only the unindexed root rule looks at an unrelated call.
    assert_eq!(
        ids("ec2.amazonaws.com", "DescribeInstances"),
        ["root_activity"]
    );
    assert_eq!(set.unindexed(), ["2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e05"]);
    let stop = ids("cloudtrail.amazonaws.com", "StopLogging");
    assert!(stop.contains(&"cloudtrail_stopped".to_owned()), "{stop:?}");
    // Same name, other source: the source constraint excludes it.
    assert!(!ids("other.amazonaws.com", "StopLogging").contains(&"cloudtrail_stopped".to_owned()));
    // `startswith` and `re` on eventName index too.
    assert!(ids("iam.amazonaws.com", "AttachRolePolicy").contains(&"admin_policy".to_owned()));
    assert!(!ids("iam.amazonaws.com", "DetachRolePolicy").contains(&"admin_policy".to_owned()));
    assert!(ids("iam.amazonaws.com", "ListRoles").contains(&"scripted_client".to_owned()));
    assert!(!ids("iam.amazonaws.com", "ListPolicies").contains(&"scripted_client".to_owned()));
}

#[test]
fn correlations_count_per_group_within_the_window_and_fire_once_per_burst() {
    let set = load(
        "title: base\nname: base\ndetection:\n  s:\n    eventName: ConsoleLogin\n  condition: s\n---\n\
         title: burst\nid: burst\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [sourceIPAddress]\n  timespan: 1m\n  condition: {gte: 3}\nlevel: high\n",
    );
    assert!(set.rules()[0].silent, "base rules do not alert by default");
    let c = set.candidates("signin.amazonaws.com", "ConsoleLogin");
    let ev = |ip: &str, t: i64| {
        record(
            "ConsoleLogin",
            serde_json::json!({"sourceIPAddress": ip, "eventID": format!("login-{t}")}),
        )
    };
    let mut fired = Vec::new();
    for (t, ip) in [
        (0, "a"),
        (10, "b"),
        (20, "a"),
        (100, "a"),
        (110, "a"),
        (115, "a"),
        (116, "a"),
    ] {
        let h = set.evaluate(&c, &ev(ip, t), t);
        assert!(h.rules.is_empty());
        fired.extend(h.correlations);
    }
    // a@0, a@20 expire before a@100; a@100, a@110, a@115 reach 3; a@116 starts afresh.
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].group, "sourceIPAddress=a");
    assert_eq!(
        (fired[0].window_start, fired[0].window_end, fired[0].count),
        (100, 115, 3)
    );
}

#[test]
fn generate_true_keeps_base_rules_alerting() {
    let set = load(
        "title: base\nname: base\ndetection:\n  s:\n    eventName: GetBucketPolicy\n  condition: s\n---\n\
         title: many\ncorrelation:\n  type: value_count\n  rules: [base]\n  timespan: 1m\n  condition: {field: requestParameters.bucketName, gte: 2}\n  generate: true\n",
    );
    let c = set.candidates("s3.amazonaws.com", "GetBucketPolicy");
    let ev = |b: &str, t: i64| {
        record(
            "GetBucketPolicy",
            serde_json::json!({"requestParameters": {"bucketName": b}, "eventID": format!("get-{t}")}),
        )
    };
    assert_eq!(set.evaluate(&c, &ev("x", 0), 0).rules, [0]);
    assert!(set.evaluate(&c, &ev("x", 1), 1).correlations.is_empty());
    let h = set.evaluate(&c, &ev("y", 2), 2);
    assert_eq!(h.rules, [0]);
    assert_eq!(h.correlations.len(), 1);
    assert_eq!(h.correlations[0].count, 2);
}

#[test]
fn builtin_threshold_rules_load_and_reference_silent_base_rules() {
    let (set, errors) = RuleSet::builtin();
    assert!(errors.is_empty(), "{errors:?}");
    let kinds: Vec<(&str, RuleKind, bool)> = set
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), r.kind, r.silent))
        .collect();
    assert!(kinds.contains(&(
        "ct.threshold.console_brute_force_ip",
        RuleKind::Correlation,
        false
    )));
    assert!(kinds.contains(&("ct.base.console_login_failed", RuleKind::Detection, true)));
    assert!(set.unindexed().is_empty(), "{:?}", set.unindexed());
    for r in set.rules() {
        assert_eq!(r.attack_version.as_deref(), Some("16.1"), "{}", r.id);
        assert!(r.technique().is_some(), "{}", r.id);
        assert!(matches!(r.origin, Origin::BuiltIn));
    }
}

#[test]
fn matches_reads_a_raw_record() {
    let (set, _) = RuleSet::load_dir(&fixtures().join("rules"));
    let text = std::fs::read_to_string(
        fixtures().join("rules/tests/cloudtrail_stopped/match/stop_logging.json"),
    )
    .unwrap_or_default();
    let got = set.matches(text.as_bytes()).unwrap_or_default();
    let ids: Vec<&str> = got
        .iter()
        .filter_map(|i| set.rule(*i))
        .map(|r| r.file_stem())
        .collect();
    assert_eq!(ids, ["cloudtrail_stopped"]);
    assert!(set.matches(b"{not json").is_err());
}

#[test]
fn an_event_seen_twice_counts_once_so_a_replayed_object_fires_nothing_new() {
    let set = load(
        "title: base\nname: base\ndetection:\n  s:\n    eventName: DeleteSnapshot\n  condition: s\n---\n\
         title: mass\nid: mass\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 4}\nlevel: high\n",
    );
    let c = set.candidates("ec2.amazonaws.com", "DeleteSnapshot");
    let ev = |i: i64| {
        record(
            "DeleteSnapshot",
            serde_json::json!({"eventSource": "ec2.amazonaws.com", "eventID": format!("del-{i}")}),
        )
    };
    let mut fired = Vec::new();
    // Three deletions (under the threshold), then the same object delivered again.
    for _ in 0..2 {
        for i in 0..3 {
            fired.extend(set.evaluate(&c, &ev(i), 60 * i).correlations);
        }
    }
    assert!(
        fired.is_empty(),
        "a redelivery is not a fourth deletion: {fired:?}"
    );
    fired.extend(set.evaluate(&c, &ev(3), 200).correlations);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].count, 4);
}

#[test]
fn a_day_long_object_replayed_after_newer_events_counts_nothing_twice() {
    let set = load(
        "title: base\nname: base\ndetection:\n  s:\n    eventName: DeleteSnapshot\n  condition: s\n---\n\
         title: mass\nid: mass\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 4}\nlevel: high\n",
    );
    let c = set.candidates("ec2.amazonaws.com", "DeleteSnapshot");
    let ev = |who: &str, i: i64| {
        record(
            "DeleteSnapshot",
            serde_json::json!({"eventSource": "ec2.amazonaws.com",
                "userIdentity": {"arn": who}, "eventID": format!("{who}-{i}")}),
        )
    };
    // A nightly job's three deletions at 03:00, then another principal's through
    // the day (one each hour): the whole day's object is processed twice.
    let mut fired = Vec::new();
    for _ in 0..2 {
        for i in 0..3 {
            fired.extend(set.evaluate(&c, &ev("backup", i), 10_800 + i).correlations);
        }
        for hour in 4..24 {
            fired.extend(set.evaluate(&c, &ev("ops", hour), hour * 3600).correlations);
        }
    }
    assert!(
        fired.is_empty(),
        "the replayed 03:00 deletions are the same three, not six: {fired:?}"
    );
    // A real fourth deletion in the window still completes the burst.
    fired.extend(set.evaluate(&c, &ev("backup", 3), 10_803).correlations);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].window_start, fired[0].window_end, fired[0].count),
        (10_800, 10_803, 4)
    );
}

#[test]
fn windows_are_time_ranges_so_out_of_order_files_neither_merge_hours_nor_miss_bursts() {
    let set = load(
        "title: base\nname: base\ndetection:\n  s:\n    eventName: GetSecretValue\n  condition: s\n---\n\
         title: harvest\nid: harvest\ncorrelation:\n  type: value_count\n  rules: [base]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {field: requestParameters.secretId, gte: 5}\nlevel: high\n",
    );
    let c = set.candidates("secretsmanager.amazonaws.com", "GetSecretValue");
    let ev = |secret: &str, t: i64| {
        record(
            "GetSecretValue",
            serde_json::json!({"eventSource": "secretsmanager.amazonaws.com",
                "requestParameters": {"secretId": secret}, "eventID": format!("get-{t}-{secret}")}),
        )
    };
    // An application reading a different secret every hour, its hours delivered
    // out of order: never five in ten minutes.
    let mut fired = Vec::new();
    for hour in [5, 1, 9, 3, 7, 2, 8, 4, 6, 0] {
        let t = hour * 3600;
        fired.extend(
            set.evaluate(&c, &ev(&format!("app/{hour}"), t), t)
                .correlations,
        );
    }
    assert!(fired.is_empty(), "{fired:?}");
    // A harvest whose files arrive late-first: the burst is still one hit.
    for (i, t) in [
        (4, 50_240),
        (3, 50_180),
        (0, 50_000),
        (2, 50_120),
        (1, 50_060),
    ] {
        fired.extend(
            set.evaluate(&c, &ev(&format!("prod/db-{i}"), t), t)
                .correlations,
        );
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].window_start, fired[0].window_end, fired[0].count),
        (50_000, 50_240, 5)
    );
}

fn regex_rule(pattern: &str) -> String {
    format!(
        "title: ua\nid: ua-re\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  selection:\n    eventName: CreateUser\n    userAgent|re: '{pattern}'\n  condition: selection\n"
    )
}

/// Regression: `[a-z]{100}{100}b` (10,000 NFA states) took 157 s on one event with
/// a 1 MB user agent. Such a pattern is refused when the rule loads.
#[test]
fn a_regex_whose_repetitions_multiply_past_the_size_cap_is_refused() {
    let text = regex_rule("[a-z]{100}{100}b");
    let (set, errors) = RuleSet::from_yaml_strs(&[("slow_ua.yml", &text)]);
    assert!(set.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, "slow_ua.yml");
    assert!(
        errors[0].reason.contains("regular expression too large"),
        "{}",
        errors[0].reason
    );
}

/// The costliest accepted `re` (the largest `[a-z]{n}b` under the size cap) on a
/// 1 MB field runs on at most `MAX_REGEX_TEXT` bytes of it: states × bytes bounded.
#[test]
fn a_regex_at_the_size_cap_on_a_1mb_field_runs_on_a_bounded_prefix() {
    // The largest n that compiles, by bisection.
    let (mut ok, mut too_big) = (1usize, 100_000usize);
    while too_big - ok > 1 {
        let mid = (ok + too_big) / 2;
        if compile::compile_regex(&format!("[a-z]{{{mid}}}b")).is_ok() {
            ok = mid;
        } else {
            too_big = mid;
        }
    }
    assert!((200..5_000).contains(&ok), "cap allows {ok} repetitions");
    let set = load(&regex_rule(&format!("[a-z]{{{ok}}}b")));
    let ua = "a".repeat(1 << 20);
    let r = record("CreateUser", serde_json::json!({ "userAgent": ua }));
    matcher::REGEX_TEXT_BYTES.with(|n| n.set(0));
    assert!(!hit(&set, &r), "no `b` in the field");
    let bytes = matcher::REGEX_TEXT_BYTES.with(std::cell::Cell::get);
    assert_eq!(bytes, matcher::MAX_REGEX_TEXT, "one bounded search");
    // A match inside the bound is still found.
    let ua = format!("{}b{}", "a".repeat(ok), "a".repeat(1 << 20));
    let r = record("CreateUser", serde_json::json!({ "userAgent": ua }));
    assert!(hit(&set, &r));
    // The bound cuts at a character boundary.
    let wide = "é".repeat(matcher::MAX_REGEX_TEXT);
    let cut = matcher::regex_haystack(&wide);
    assert!(cut.len() <= matcher::MAX_REGEX_TEXT && cut.len() + 2 > matcher::MAX_REGEX_TEXT);
}
