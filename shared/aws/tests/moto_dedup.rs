//! Deduplication claims on DynamoDB, against moto's server: the first claim holds
//! the window, retries are not counted twice, of two concurrent first claims one
//! wins, the holder's `repeats` follows, and a burst delivered through the core's
//! `deliver` alerts once. Skipped with a message when `TRAILHOUND_MOTO_ENDPOINT` is
//! unset (`scripts/test.sh` starts moto).
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use trailhound_aws::dynamo::{DEDUP_SET_CAP, create_table};
use trailhound_aws::testing::{moto_config, moto_endpoint, unique_name};
use trailhound_aws::{Clients, DynamoFindingStore};
use trailhound_core::pipeline::{DeliveryStats, PipelineConfig, deliver};
use trailhound_core::ports::{AlertClaim, FindingStore, InMemoryAlertSink};
use trailhound_core::{Detection, Finding, Severity, Triage};

async fn store(test: &str) -> Option<DynamoFindingStore> {
    let endpoint = moto_endpoint(test)?;
    let c = Clients::new(&moto_config(&endpoint).await);
    let table = unique_name("th-dedup");
    create_table(&c.dynamodb, &table).await.unwrap();
    Some(DynamoFindingStore::new(c.dynamodb.clone(), table))
}

const KEY: &str = "123456789012|ct.signin.console_no_mfa|arn:aws:iam::123456789012:user/bob";
const WINDOW: i64 = 1_709_632_800; // 2024-03-05T10:00:00Z

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{i:032x}")).collect()
}

fn claim<'a>(window_start: i64, finding_ids: &'a [String]) -> AlertClaim<'a> {
    AlertClaim {
        key: KEY,
        window_start,
        window_seconds: 3600,
        finding_ids,
    }
}

#[tokio::test]
async fn the_first_claim_holds_the_window_and_retries_count_once() {
    let Some(store) = store("dedup_first_claim").await else {
        return;
    };
    let a = ids(0..1);
    let first = store.claim_alert(&claim(WINDOW, &a)).await.unwrap();
    assert_eq!(
        (first.first_finding_id.as_str(), first.repeats),
        (a[0].as_str(), 0)
    );
    // The holder claiming again (a retry after a failed publish) still holds it.
    let retry = store.claim_alert(&claim(WINDOW, &a)).await.unwrap();
    assert_eq!(
        (retry.first_finding_id.as_str(), retry.repeats),
        (a[0].as_str(), 0)
    );

    let later = ids(1..4);
    let held = store.claim_alert(&claim(WINDOW, &later)).await.unwrap();
    assert_eq!(
        (held.first_finding_id.as_str(), held.repeats),
        (a[0].as_str(), 3)
    );
    let replay = store.claim_alert(&claim(WINDOW, &later)).await.unwrap();
    assert_eq!(replay.repeats, 3, "a replayed repeat is not counted twice");

    let next_hour = store
        .claim_alert(&claim(WINDOW + 3600, &later))
        .await
        .unwrap();
    assert_eq!(
        (next_hour.first_finding_id.as_str(), next_hour.repeats),
        (later[0].as_str(), 2)
    );
}

// Two claims of one window from two store instances, one after the other: the
// first holds. DynamoDB applies one UpdateItem atomically, so concurrent first
// claims have one winner there; moto does not serialise writes to one item, so a
// concurrent version of this test would test the emulator (and flake), not us.
#[tokio::test]
async fn of_two_first_claims_of_a_window_the_earlier_holds() {
    let Some(store) = store("dedup_concurrent_claims").await else {
        return;
    };
    for round in 0..5 {
        let window = WINDOW + round * 3600;
        let (a, b) = (ids(100..101), ids(200..201));
        let (sa, sb) = (store.clone(), store.clone());
        let (first, second) = if round % 2 == 0 {
            (&sa, &sb)
        } else {
            (&sb, &sa)
        };
        let ra = first.claim_alert(&claim(window, &a)).await.unwrap();
        let rb = second.claim_alert(&claim(window, &b)).await.unwrap();
        assert_eq!(ra.first_finding_id, a[0], "round {round}");
        assert_eq!(
            rb.first_finding_id, a[0],
            "round {round}: the window is held"
        );
        // The later of the two sees both hits; the earlier saw only its own.
        assert_eq!((ra.repeats, rb.repeats), (0, 1), "round {round}");
    }
}

#[tokio::test]
async fn past_the_set_cap_hits_are_still_counted() {
    let Some(store) = store("dedup_set_cap").await else {
        return;
    };
    let many = ids(0..DEDUP_SET_CAP + 100);
    let held = store.claim_alert(&claim(WINDOW, &many)).await.unwrap();
    assert_eq!(held.first_finding_id, many[0]);
    assert_eq!(held.repeats, (DEDUP_SET_CAP + 100 - 1) as u64);
}

fn hit(i: usize) -> Finding {
    let event_id = format!("6e2a9b1c-0000-4000-8000-{i:012}");
    Finding {
        finding_id: trailhound_core::finding::finding_id("cloudtrail", &event_id),
        event_id,
        source: "cloudtrail".into(),
        time: format!("2024-03-05T10:{:02}:{:02}Z", i / 60, i % 60),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        principal: "arn:aws:iam::123456789012:user/bob".into(),
        action: "signin:ConsoleLogin".into(),
        score: 0.35,
        severity: Some(Severity::Medium),
        severity_score: 4.5,
        detections: vec![Detection {
            id: "ct.signin.console_no_mfa".into(),
            technique: Some("T1078.004".into()),
        }],
        reasons: vec!["Console login without MFA (T1078.004)".into()],
        model_version: "none".into(),
        triage: Triage::default(),
    }
}

#[tokio::test]
async fn a_burst_delivered_to_dynamodb_alerts_once_and_counts_on_the_first_finding() {
    let Some(store) = store("dedup_burst_deliver").await else {
        return;
    };
    let sink = InMemoryAlertSink::default();
    let cfg = PipelineConfig::default();
    let burst: Vec<Finding> = (0..50).map(hit).collect();
    let mut stats = DeliveryStats::default();
    for part in [&burst[..30], &burst[30..]] {
        let mut chunk = part.to_vec();
        deliver(&mut chunk, &store, &sink, &cfg, &mut stats)
            .await
            .unwrap();
    }
    stats.finish().unwrap();
    assert_eq!((stats.alerts, stats.deduplicated), (1, 49));
    assert_eq!(sink.sent().len(), 1);
    let (first, alerted) = store
        .get_finding(&burst[0].finding_id)
        .await
        .unwrap()
        .unwrap();
    assert!(alerted);
    assert_eq!(first.triage.repeats, 49);
    let (later, alerted) = store
        .get_finding(&burst[49].finding_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!alerted);
    assert_eq!(
        later.triage.duplicate_of.as_deref(),
        Some(burst[0].finding_id.as_str())
    );

    // A replay of the whole burst: no alert, no count twice.
    let mut stats = DeliveryStats::default();
    let mut again = burst.clone();
    deliver(&mut again, &store, &sink, &cfg, &mut stats)
        .await
        .unwrap();
    stats.finish().unwrap();
    assert_eq!(stats.alerts, 0);
    assert_eq!(sink.sent().len(), 1);
    let (first, _) = store
        .get_finding(&burst[0].finding_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.triage.repeats, 49);
}
