#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::features::cloudtrail::Col;
use std::collections::HashMap;

const DAY: i64 = 86_400;
/// Monday 2024-03-04T00:00:00Z.
const T0: i64 = 1_709_510_400;

fn record(t: i64, user: &str, name: &str, source: &str, ip: &str, region: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": format!("arn:aws:iam::123456789012:user/{user}"),
            "accountId": "123456789012",
            "userName": user
        },
        "eventTime": crate::timefmt::format_rfc3339(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2",
        "eventID": format!("{user}-{name}-{t}"),
        "readOnly": name.starts_with("Describe") || name.starts_with("List"),
        "recipientAccountId": "123456789012"
    })
    .to_string()
}

fn batch(records: &[String]) -> CtBatch {
    let mut b = CtBatch::default();
    for r in records {
        b.push_json(r.as_bytes()).unwrap();
    }
    b
}

/// Alice's routine: DescribeInstances from 198.51.100.x in eu-west-1 at 09:00 and
/// 10:00, on `days` consecutive days.
fn routine(days: i64) -> Vec<String> {
    (0..days)
        .flat_map(|d| {
            (0..4).map(move |i| {
                record(
                    T0 + d * DAY + 9 * 3600 + i * 900,
                    "alice",
                    "DescribeInstances",
                    "ec2.amazonaws.com",
                    "198.51.100.7",
                    "eu-west-1",
                )
            })
        })
        .collect()
}

fn store_of(updates: &[ProfileUpdate]) -> HashMap<String, Profile> {
    let mut m: HashMap<String, Profile> = HashMap::new();
    for u in updates {
        m.entry(u.key.clone()).or_default().absorb(u);
    }
    m
}

fn alice() -> String {
    profile_key("123456789012", "arn:aws:iam::123456789012:user/alice")
}

#[test]
fn observe_records_every_facet_of_successful_calls_only() {
    let mut recs = routine(1);
    let mut denied: serde_json::Value = serde_json::from_str(&record(
        T0 + 3600,
        "alice",
        "CreateUser",
        "iam.amazonaws.com",
        "203.0.113.9",
        "us-east-1",
    ))
    .unwrap();
    denied["errorCode"] = "AccessDenied".into();
    recs.push(denied.to_string());
    let b = batch(&recs);
    let updates = observe(&b, "o1");
    assert_eq!(updates.len(), 1);
    let p = &updates[0].seen;
    assert_eq!(updates[0].key, alice());
    assert_eq!(p.events, 4, "the denied call is not learned");
    assert_eq!(p.first_seen, T0 + 9 * 3600);
    assert_eq!(p.networks.last_seen("198.51.100"), Some(day_of(T0)));
    assert_eq!(p.regions.last_seen("eu-west-1"), Some(day_of(T0)));
    assert_eq!(p.clients.last_seen("cli"), Some(day_of(T0)));
    assert_eq!(
        p.actions.last_seen("ec2:DescribeInstances"),
        Some(day_of(T0))
    );
    assert_eq!(p.services.last_seen("ec2"), Some(day_of(T0)));
    assert_eq!(p.hours.last_seen("09"), Some(day_of(T0)));
    assert!(p.actions.last_seen("iam:CreateUser").is_none());
    // A failed console sign-in (no errorCode, "Failure" in the response) is not
    // learned either.
    let mut login: serde_json::Value = serde_json::from_str(&record(
        T0,
        "alice",
        "ConsoleLogin",
        "signin.amazonaws.com",
        "45.155.205.3",
        "us-east-1",
    ))
    .unwrap();
    login["responseElements"] = serde_json::json!({"ConsoleLogin": "Failure"});
    assert!(observe(&batch(&[login.to_string()]), "o2").is_empty());
    assert!(p.networks.last_seen("203.0.113").is_none());
}

#[test]
fn merging_is_commutative_and_idempotent() {
    let b1 = batch(&routine(3));
    let b2 = batch(&[
        record(
            T0 + 5 * DAY,
            "alice",
            "CreateAccessKey",
            "iam.amazonaws.com",
            "203.0.113.9",
            "us-east-1",
        ),
        record(
            T0 + 5 * DAY + 60,
            "bob",
            "ListBuckets",
            "s3.amazonaws.com",
            "10.0.0.1",
            "us-east-1",
        ),
    ]);
    let u1 = observe(&b1, "o1");
    let u2 = observe(&b2, "o2");
    let forward: Vec<ProfileUpdate> = u1.iter().chain(&u2).cloned().collect();
    let backward: Vec<ProfileUpdate> = u2.iter().chain(&u1).cloned().collect();
    let twice: Vec<ProfileUpdate> = forward.iter().chain(&backward).cloned().collect();
    let a = store_of(&forward);
    assert_eq!(a, store_of(&backward), "order must not matter");
    assert_eq!(a, store_of(&twice), "a repeated update must change nothing");
    let p = &a[&alice()];
    assert_eq!(p.events, 13);
    assert_eq!(p.first_seen, T0 + 9 * 3600);
    assert_eq!(p.last_seen, T0 + 5 * DAY);
    assert!(p.actions.last_seen("iam:CreateAccessKey").is_some());
    assert_eq!(p.origins.len(), 2);
}

#[test]
fn entries_decay_after_thirty_days_and_sets_stay_bounded() {
    let mut p = Profile::default();
    let old = ProfileUpdate {
        key: alice(),
        origin: "old".into(),
        seen: observe(&batch(&routine(1)), "x").remove(0).seen,
    };
    p.absorb(&old);
    // 300 distinct actions 40 days later: the old ones decay, the bound holds.
    let recs: Vec<String> = (0..300)
        .map(|i| {
            record(
                T0 + 40 * DAY + i,
                "alice",
                &format!("Action{i:03}"),
                "ec2.amazonaws.com",
                "198.51.100.7",
                "eu-west-1",
            )
        })
        .collect();
    let mut newer = observe(&batch(&recs), "new").remove(0);
    newer.key = alice();
    p.absorb(&newer);
    assert!(
        p.actions.last_seen("ec2:DescribeInstances").is_none(),
        "decayed"
    );
    assert!(p.hours.last_seen("09").is_none(), "decayed");
    assert_eq!(p.actions.len(), Facet::Action.capacity());
    assert_eq!(p.first_seen, T0 + 9 * 3600, "history is kept");
    assert!(p.events >= 304);
    // When full, the entries seen longest ago go first; equal days keep the smaller keys.
    assert!(p.actions.last_seen("ec2:Action000").is_some());
    assert!(p.actions.last_seen("ec2:Action299").is_none());
    // A crafted, huge value is cut.
    let mut s = EntrySet::default();
    s.insert(&"é".repeat(200), 1);
    assert!(s.iter().all(|(k, _)| k.len() <= MAX_KEY_BYTES));
    assert_eq!(s.last_seen(&"é".repeat(300)), Some(1));
}

#[test]
fn novelty_needs_a_mature_profile_and_names_what_is_new() {
    let history = store_of(&observe(&batch(&routine(8)), "h"));
    let scanned = batch(&[
        // Known: same action, network, region, client, hour.
        record(
            T0 + 8 * DAY + 9 * 3600,
            "alice",
            "DescribeInstances",
            "ec2.amazonaws.com",
            "198.51.100.8",
            "eu-west-1",
        ),
        // New action, service, network, region and hour.
        record(
            T0 + 8 * DAY + 3 * 3600,
            "alice",
            "CreateAccessKey",
            "iam.amazonaws.com",
            "203.0.113.9",
            "eu-north-1",
        ),
        // A principal never seen.
        record(
            T0 + 8 * DAY + 3 * 3600,
            "mallory",
            "CreateAccessKey",
            "iam.amazonaws.com",
            "203.0.113.9",
            "eu-north-1",
        ),
    ]);
    let base = BatchBaseline::new(&scanned, &history, BaselineConfig::default(), None);
    let known = base.event(&scanned, &scanned.events[0]);
    assert_eq!(known.standing, Standing::Mature);
    assert!(known.novelty.is_empty(), "{known:?}");
    let new = base.event(&scanned, &scanned.events[1]);
    for f in [
        Facet::Action,
        Facet::Service,
        Facet::Network,
        Facet::Region,
        Facet::Hour,
    ] {
        assert!(new.novelty.has(f), "{f:?} should be new");
    }
    assert!(!new.novelty.has(Facet::Client));
    let mut reasons = vec!["first `CreateAccessKey` by this principal".to_owned()];
    new.add_reasons(&scanned, &scanned.events[1], &mut reasons);
    let text = reasons.join("\n");
    assert!(
        !text.contains("first `CreateAccessKey` by this principal\n"),
        "{text}"
    );
    assert!(
        text.contains("first use of iam by this principal in 30 days (`CreateAccessKey`)"),
        "{text}"
    );
    assert!(
        text.contains("first call from network 203.0.113 by this principal in 30 days"),
        "{text}"
    );
    assert!(
        text.contains("first use of region eu-north-1 by this principal in 30 days"),
        "{text}"
    );
    assert!(
        text.contains("first activity at 03:00 UTC for this principal in 30 days"),
        "{text}"
    );
    let stranger = base.event(&scanned, &scanned.events[2]);
    assert!(matches!(
        stranger.standing,
        Standing::Learning { events: 0, .. }
    ));
    assert!(stranger.novelty.is_empty());

    // Too short a history: in learning, whatever it does.
    let young = store_of(&observe(&batch(&routine(3)), "h"));
    let base = BatchBaseline::new(&scanned, &young, BaselineConfig::default(), None);
    let e = base.event(&scanned, &scanned.events[1]);
    assert!(matches!(e.standing, Standing::Learning { .. }), "{e:?}");
    assert!(e.novelty.is_empty());
}

#[test]
fn learning_caps_the_model_alone_and_maturity_adds_a_modest_bump() {
    const WRITE: Call = Call {
        read_only: false,
        failed: false,
        attack_tooling: false,
    };
    const READ: Call = Call {
        read_only: true,
        failed: false,
        attack_tooling: false,
    };
    let mut reasons = Vec::new();
    let learning = EventBaseline {
        standing: Standing::Learning {
            days: 1.5,
            events: 3,
        },
        novelty: Novelty::default(),
        model_known: false,
        foreign_network: false,
    };
    assert_eq!(
        learning.adjust_model(Some(6.0), WRITE, &mut reasons),
        Some(novelty::LEARNING_CAP)
    );
    assert!(reasons[0].contains("learning period"), "{reasons:?}");
    assert_eq!(
        learning.adjust_model(Some(2.0), WRITE, &mut reasons),
        Some(2.0)
    );
    assert_eq!(learning.adjust_model(None, WRITE, &mut reasons), None);
    let known = EventBaseline {
        model_known: true,
        ..learning
    };
    assert_eq!(
        known.adjust_model(Some(6.0), WRITE, &mut reasons),
        Some(6.0)
    );
    // A failed call, or one from a network foreign to the account, is not capped:
    // that is how a brute force or a backdoor's first use look.
    let failed = Call {
        read_only: false,
        failed: true,
        attack_tooling: false,
    };
    let tooling = Call {
        attack_tooling: true,
        ..WRITE
    };
    assert_eq!(
        learning.adjust_model(Some(6.0), tooling, &mut reasons),
        Some(6.0)
    );
    assert_eq!(
        learning.adjust_model(Some(6.0), failed, &mut reasons),
        Some(6.0)
    );
    let foreign = EventBaseline {
        foreign_network: true,
        ..learning
    };
    assert_eq!(
        foreign.adjust_model(Some(6.0), WRITE, &mut reasons),
        Some(6.0)
    );

    let mut novelty = Novelty::default();
    for f in [Facet::Action, Facet::Region, Facet::Hour] {
        novelty.set(f);
    }
    let mature = EventBaseline {
        standing: Standing::Mature,
        novelty,
        model_known: true,
        foreign_network: false,
    };
    // Region and hour count; the new action is the model's business.
    assert_eq!(
        mature.adjust_model(Some(4.0), WRITE, &mut reasons),
        Some(5.0)
    );
    assert_eq!(
        mature.adjust_model(Some(7.8), WRITE, &mut reasons),
        Some(8.0)
    );
    assert_eq!(
        mature.adjust_model(Some(3.0), READ, &mut reasons),
        Some(3.0),
        "a first read is not suspicious"
    );
    assert_eq!(
        mature.adjust_model(None, WRITE, &mut reasons),
        None,
        "novelty alone is no finding"
    );
    let mut from_new_network = novelty;
    from_new_network.set(Facet::Network);
    let read_from_new = EventBaseline {
        novelty: from_new_network,
        ..mature
    };
    assert_eq!(
        read_from_new.adjust_model(Some(3.0), READ, &mut reasons),
        Some(4.0),
        "a read from a new network"
    );

    let mut row = vec![0.0f32; crate::features::cloudtrail::N_FEATURES];
    mature.apply_to_row(&mut row, true);
    assert_eq!(
        row[Col::NewAction as usize],
        0.0,
        "a first read is left to training"
    );
    mature.apply_to_row(&mut row, false);
    assert_eq!(row[Col::NewAction as usize], 1.0);
    assert_eq!(row[Col::NewNetwork as usize], 0.0);
    assert_eq!(row[Col::NewClient as usize], 0.0);
}

#[test]
fn profiles_round_trip_through_json() {
    let p = store_of(&observe(&batch(&routine(2)), "h"))
        .remove(&alice())
        .unwrap();
    let json = serde_json::to_string(&p).unwrap();
    let back: Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(p, back);
    assert!(json.contains("\"ec2:DescribeInstances\""), "{json}");
    // A profile written by an older version, without some sets, still loads.
    let old: Profile =
        serde_json::from_str(r#"{"first_seen":1,"last_seen":2,"events":3}"#).unwrap();
    assert_eq!(old.events, 3);
}

#[test]
fn batch_keys_lists_each_principal_once() {
    let b = batch(&[
        record(
            T0,
            "alice",
            "A",
            "ec2.amazonaws.com",
            "1.2.3.4",
            "us-east-1",
        ),
        record(
            T0 + 1,
            "bob",
            "A",
            "ec2.amazonaws.com",
            "1.2.3.4",
            "us-east-1",
        ),
        record(
            T0 + 2,
            "alice",
            "B",
            "ec2.amazonaws.com",
            "1.2.3.4",
            "us-east-1",
        ),
    ]);
    assert_eq!(
        batch_keys(&b),
        vec![
            alice(),
            profile_key("123456789012", "arn:aws:iam::123456789012:user/bob")
        ]
    );
    assert_eq!(origin_of("a/b.json.gz"), origin_of("a/b.json.gz"));
    assert_ne!(origin_of("a/b.json.gz"), origin_of("a/c.json.gz"));
}

/// Regression (fuzz `profiles_json`): a stored day or time near `i64::MIN`
/// overflowed the age arithmetic (a panic in debug builds; in release the wrapped
/// age kept the entry forever and made it count as recent).
#[test]
fn a_stored_day_far_in_the_past_decays_instead_of_overflowing() {
    let mut p: Profile = serde_json::from_str(
        r#"{"first_seen":-9223372036854775808,"last_seen":1709547335,"events":18446744073709551615,
            "networks":{"203.0.113.0/24":-9223372036854775808,"198.51.100.0/24":19786}}"#,
    )
    .unwrap();
    let today = day_of(1_709_547_335);
    assert!(!p.networks.seen_within("203.0.113.0/24", today));
    assert!(p.networks.seen_within("198.51.100.0/24", today));
    assert!(p.history_days(1_709_547_335) > 1e12);
    p.record_time(1_709_547_400);
    assert_eq!(p.events, u64::MAX);
    p.prune();
    let kept: Vec<&str> = p.networks.iter().map(|(k, _)| k).collect();
    assert_eq!(kept, ["198.51.100.0/24"]);
}
