use super::*;
use crate::finding::{Detection, Triage, finding_id};
use crate::ports::{InMemoryAlertSink, InMemoryFindingStore};
use std::sync::atomic::Ordering;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The in-memory ports never pend, so one poll with a no-op waker completes them.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

const KEYS_USER: &str = "arn:aws:iam::123456789012:user/stolen-keys";

/// A finding like the scorer makes for `GetSecretValue` in a harvesting burst.
fn hit(n: u32, principal: &str, time: &str, severity: Severity) -> Finding {
    let event_id = format!("9a1c2b3d-0000-4000-8000-{n:012}");
    Finding {
        finding_id: finding_id("cloudtrail", &event_id),
        event_id,
        source: "cloudtrail".into(),
        time: time.into(),
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        principal: principal.into(),
        action: "secretsmanager:GetSecretValue".into(),
        score: 0.71,
        severity: Some(severity),
        severity_score: 6.2,
        detections: vec![
            Detection {
                id: "iforest".into(),
                technique: None,
            },
            Detection {
                id: "hbos".into(),
                technique: None,
            },
        ],
        reasons: vec!["isolation forest: only 0.012% of training events scored as high".into()],
        model_version: "cloudtrail-1a2b3c4d".into(),
        triage: Triage::default(),
    }
}

/// `n` hits one second apart from `start` (within one hour from 10:00:00).
fn burst(n: u32, principal: &str) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            let t = format!("2024-03-05T10:{:02}:{:02}Z", i / 60, i % 60);
            hit(i, principal, &t, Severity::Medium)
        })
        .collect()
}

fn cfg(window: u64, suppressions: &str) -> PipelineConfig {
    let (s, _) = Suppressions::from_yaml(suppressions, "test", 1_700_000_000).unwrap();
    PipelineConfig {
        alert_policy: AlertPolicy {
            dedup_window_seconds: window,
            suppressions: Arc::new(s),
        },
        ..PipelineConfig::default()
    }
}

fn run(
    chunks: &mut [Vec<Finding>],
    store: &InMemoryFindingStore,
    sink: &InMemoryAlertSink,
    cfg: &PipelineConfig,
) -> (DeliveryStats, Result<(), DeliveryError>) {
    let mut stats = DeliveryStats::default();
    for chunk in chunks.iter_mut() {
        block_on(deliver(chunk, store, sink, cfg, &mut stats)).unwrap();
    }
    let end = stats.finish();
    (stats, end)
}

#[test]
fn windows_are_aligned_on_event_time() {
    assert_eq!(
        window_start("2024-03-05T10:59:59Z", 3600),
        window_start("2024-03-05T10:00:00Z", 3600)
    );
    assert_ne!(
        window_start("2024-03-05T10:59:59Z", 3600),
        window_start("2024-03-05T11:00:00Z", 3600)
    );
    assert_eq!(
        window_start("2024-03-05T11:00:00Z", 3600),
        Some(1_709_636_400)
    );
    assert_eq!(window_start("2024-03-05T10:59:59Z", 0), None);
    assert_eq!(window_start("not a time", 3600), None);
}

#[test]
fn keys_name_account_primary_detection_and_full_principal() {
    let f = hit(1, KEYS_USER, "2024-03-05T10:00:00Z", Severity::Medium);
    assert_eq!(
        dedup_key(&f),
        "123456789012|iforest|arn:aws:iam::123456789012:user/stolen-keys|medium"
    );
    let mut other_account = f.clone();
    other_account.account = "210987654321".into();
    other_account.principal = "arn:aws:iam::210987654321:user/stolen-keys".into();
    assert_ne!(dedup_key(&f), dedup_key(&other_account));
    let mut anonymous = f.clone();
    anonymous.principal.clear();
    assert_eq!(
        dedup_key(&anonymous),
        "123456789012|iforest|secretsmanager:GetSecretValue|medium"
    );
    let mut worse = f.clone();
    worse.severity = Some(Severity::Critical);
    assert_ne!(
        dedup_key(&f),
        dedup_key(&worse),
        "an escalation alerts again"
    );
}

#[test]
fn a_burst_of_fifty_hits_alerts_once_and_counts_the_rest_on_the_first() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let cfg = cfg(3600, "");
    // Two chunks, as a large object would come: the count follows across them.
    let all = burst(50, KEYS_USER);
    let mut chunks = vec![all[..20].to_vec(), all[20..].to_vec()];
    let (stats, end) = run(&mut chunks, &store, &sink, &cfg);
    end.unwrap();
    assert_eq!(
        (stats.alerts, stats.deduplicated, stats.suppressed),
        (1, 49, 0)
    );
    let sent = sink.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].finding_id, all[0].finding_id);
    let stored = store.findings();
    assert_eq!(stored.len(), 50, "every hit is stored");
    let first = stored
        .iter()
        .find(|f| f.finding_id == all[0].finding_id)
        .unwrap();
    assert_eq!(first.triage.repeats, 49);
    assert!(
        stored
            .iter()
            .filter(|f| f.finding_id != all[0].finding_id)
            .all(|f| f.triage.duplicate_of.as_deref() == Some(all[0].finding_id.as_str()))
    );

    // A replay of the same findings: nothing new, nothing counted twice.
    let mut again = vec![burst(50, KEYS_USER)];
    let (stats, end) = run(&mut again, &store, &sink, &cfg);
    end.unwrap();
    assert_eq!(stats.alerts, 0);
    assert_eq!(sink.sent().len(), 1);
    let first = store
        .findings()
        .into_iter()
        .find(|f| f.finding_id == all[0].finding_id)
        .unwrap();
    assert_eq!(first.triage.repeats, 49);
}

#[test]
fn each_window_principal_and_detection_alerts_on_its_own() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let mut fs = vec![
        hit(1, KEYS_USER, "2024-03-05T10:59:59Z", Severity::Medium),
        hit(2, KEYS_USER, "2024-03-05T11:00:00Z", Severity::Medium),
        hit(
            3,
            "arn:aws:iam::123456789012:role/etl",
            "2024-03-05T10:30:00Z",
            Severity::High,
        ),
        hit(4, KEYS_USER, "2024-03-05T10:30:00Z", Severity::High),
    ];
    fs[3].detections.insert(
        0,
        Detection {
            id: "ct.iam.access_key_other_user".into(),
            technique: Some("T1098.001".into()),
        },
    );
    let (stats, end) = run(&mut [fs], &store, &sink, &cfg(3600, ""));
    end.unwrap();
    assert_eq!((stats.alerts, stats.deduplicated), (4, 0));
}

#[test]
fn an_escalation_in_the_window_still_alerts_and_a_repeat_at_a_seen_level_does_not() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let stop = |n, time, severity| {
        let mut f = hit(n, KEYS_USER, time, severity);
        f.action = "cloudtrail:StopLogging".into();
        f.detections = vec![Detection {
            id: "ct.cloudtrail.stop_logging".into(),
            technique: Some("T1562.008".into()),
        }];
        f
    };
    // Denied first (lowered to medium), then the call that worked, then again.
    let fs = vec![
        stop(1, "2024-03-05T10:00:00Z", Severity::Medium),
        stop(2, "2024-03-05T10:00:20Z", Severity::Critical),
        stop(3, "2024-03-05T10:00:40Z", Severity::Critical),
        stop(4, "2024-03-05T10:01:00Z", Severity::Medium),
    ];
    let (stats, end) = run(&mut [fs.clone()], &store, &sink, &cfg(3600, ""));
    end.unwrap();
    assert_eq!((stats.alerts, stats.deduplicated), (2, 2));
    let sent: Vec<String> = sink.sent().into_iter().map(|f| f.finding_id).collect();
    assert_eq!(sent, [fs[0].finding_id.clone(), fs[1].finding_id.clone()]);
}

#[test]
fn findings_below_the_alert_severity_neither_claim_nor_count() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let fs = vec![
        hit(1, KEYS_USER, "2024-03-05T10:00:00Z", Severity::Low),
        hit(2, KEYS_USER, "2024-03-05T10:00:01Z", Severity::Medium),
        hit(3, KEYS_USER, "2024-03-05T10:00:02Z", Severity::Low),
    ];
    let (stats, end) = run(&mut [fs.clone()], &store, &sink, &cfg(3600, ""));
    end.unwrap();
    assert_eq!((stats.alerts, stats.deduplicated), (1, 0));
    assert_eq!(sink.sent()[0].finding_id, fs[1].finding_id);
    assert_eq!(store.findings().len(), 3);
}

#[test]
fn a_zero_window_turns_deduplication_off() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let (stats, end) = run(&mut [burst(50, KEYS_USER)], &store, &sink, &cfg(0, ""));
    end.unwrap();
    assert_eq!((stats.alerts, stats.deduplicated), (50, 0));
}

#[test]
fn the_window_holder_whose_publish_failed_alerts_on_retry_exactly_once() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let cfg = cfg(3600, "");
    sink.fail.store(true, Ordering::SeqCst);
    let (stats, end) = run(&mut [burst(10, KEYS_USER)], &store, &sink, &cfg);
    let err = end.unwrap_err();
    assert_eq!(err.stage, "alert");
    assert_eq!((stats.alerts, stats.deduplicated), (0, 9));

    sink.fail.store(false, Ordering::SeqCst);
    let (stats, end) = run(&mut [burst(10, KEYS_USER)], &store, &sink, &cfg);
    end.unwrap();
    assert_eq!(stats.alerts, 1);
    assert_eq!(sink.sent()[0].finding_id, burst(1, KEYS_USER)[0].finding_id);

    let (stats, end) = run(&mut [burst(10, KEYS_USER)], &store, &sink, &cfg);
    end.unwrap();
    assert_eq!(stats.alerts, 0);
    assert_eq!(sink.sent().len(), 1);
}

#[test]
fn suppressed_findings_are_stored_with_the_reason_and_counted_not_alerted() {
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let cfg = cfg(
        3600,
        "suppressions:\n  - principal: \"arn:aws:iam::*:user/stolen-*\"\n    action: \"secretsmanager:*\"\n    reason: the vault sync job reads every secret hourly\n",
    );
    let mut chunks = [
        burst(5, KEYS_USER),
        burst(1, "arn:aws:iam::123456789012:user/bob"),
    ];
    // Different event ids for bob's hit.
    chunks[1][0] = hit(
        99,
        "arn:aws:iam::123456789012:user/bob",
        "2024-03-05T10:00:00Z",
        Severity::Medium,
    );
    let (stats, end) = run(&mut chunks, &store, &sink, &cfg);
    end.unwrap();
    assert_eq!(
        (stats.alerts, stats.suppressed, stats.deduplicated),
        (1, 5, 0)
    );
    assert!(sink.sent()[0].principal.ends_with("user/bob"));
    let stored = store.findings();
    assert_eq!(stored.len(), 6);
    assert_eq!(
        stored
            .iter()
            .filter(|f| f.triage.suppressed_by.as_deref()
                == Some("the vault sync job reads every secret hourly"))
            .count(),
        5
    );
}

#[test]
fn triage_fields_appear_only_when_set_and_old_json_still_parses() {
    let mut f = hit(1, KEYS_USER, "2024-03-05T10:00:00Z", Severity::Medium);
    let plain = serde_json::to_string(&f).unwrap();
    assert!(!plain.contains("repeats") && !plain.contains("duplicate_of"));
    let back: Finding = serde_json::from_str(&plain).unwrap();
    assert_eq!(back, f);
    f.triage.repeats = 3;
    f.triage.suppressed_by = Some("expected".into());
    let json = serde_json::to_string(&f).unwrap();
    assert!(json.contains(r#""suppressed_by":"expected""#) && json.contains(r#""repeats":3"#));
    assert_eq!(serde_json::from_str::<Finding>(&json).unwrap(), f);
}
