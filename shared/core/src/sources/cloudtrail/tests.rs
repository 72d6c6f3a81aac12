use super::*;
use crate::decode::Limits;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/cloudtrail/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rule_id(ev: &CtEvent) -> Option<&'static str> {
    ev.rule.and_then(builtin::rule).map(|r| r.id)
}

#[test]
fn parses_every_identity_shape() {
    let batch = CtBatch::read(&fixture("identities.json")[..], &Limits::default()).unwrap();
    assert_eq!(batch.skipped, 0);
    let rows: Vec<(&str, IdentityType, &str, IpClass, UaFamily)> = batch
        .events
        .iter()
        .map(|e| {
            (
                &*e.event_id,
                e.identity,
                batch.str(e.principal),
                e.ip_class,
                e.ua,
            )
        })
        .collect();
    let want = [
        (
            "e0000000-0000-4000-8000-000000000001",
            IdentityType::IamUser,
            "arn:aws:iam::123456789012:user/Alice",
            IpClass::PublicV4,
            UaFamily::Cli,
        ),
        (
            "e0000000-0000-4000-8000-000000000002",
            IdentityType::AssumedRole,
            "arn:aws:iam::123456789012:role/ci-deployer",
            IpClass::Private,
            UaFamily::Iac,
        ),
        (
            "e0000000-0000-4000-8000-000000000003",
            IdentityType::Root,
            "arn:aws:iam::123456789012:root",
            IpClass::PublicV4,
            UaFamily::Console,
        ),
        (
            "e0000000-0000-4000-8000-000000000004",
            IdentityType::AwsService,
            "config.amazonaws.com",
            IpClass::Service,
            UaFamily::Service,
        ),
        (
            "e0000000-0000-4000-8000-000000000005",
            IdentityType::FederatedUser,
            "arn:aws:iam::123456789012:user/federation-broker",
            IpClass::PublicV6,
            UaFamily::Sdk,
        ),
        (
            "e0000000-0000-4000-8000-000000000006",
            IdentityType::AwsAccount,
            "AIDAOTHERACCOUNT",
            IpClass::PublicV4,
            UaFamily::Sdk,
        ),
        (
            "e0000000-0000-4000-8000-000000000007",
            IdentityType::Federated,
            "SAMLExampleProvider:alice@example.com",
            IpClass::PublicV4,
            UaFamily::Console,
        ),
        (
            "e0000000-0000-4000-8000-000000000008",
            IdentityType::Federated,
            "accounts.google.com:123456789.apps.googleusercontent.com:112233445566",
            IpClass::PublicV4,
            UaFamily::Sdk,
        ),
        (
            "e0000000-0000-4000-8000-000000000009",
            IdentityType::None,
            "",
            IpClass::Service,
            UaFamily::Service,
        ),
        (
            "e0000000-0000-4000-8000-000000000010",
            IdentityType::AssumedRole,
            "arn:aws:iam::123456789012:role/ops",
            IpClass::PublicV4,
            UaFamily::Offensive,
        ),
    ];
    assert_eq!(rows.len(), want.len());
    for (got, want) in rows.iter().zip(want.iter()) {
        assert_eq!(got, want);
    }
}

#[test]
fn reads_mfa_console_and_rules() {
    let batch = CtBatch::read(&fixture("identities.json")[..], &Limits::default()).unwrap();
    let by_id = |n: usize| &batch.events[n - 1];
    assert_eq!(rule_id(by_id(1)), Some("ct.iam.access_key_other_user"));
    assert_eq!(by_id(2).mfa, Some(false));
    assert_eq!(by_id(2).read_only, Some(true));
    let root_login = by_id(3);
    assert!(root_login.console && !root_login.login_failed);
    assert_eq!(root_login.mfa, Some(false));
    assert_eq!(rule_id(root_login), Some("ct.root.usage"));
    assert_eq!(rule_id(by_id(10)), Some("ct.cloudtrail.stop_logging"));
    assert_eq!(rule_id(by_id(4)), None);
    assert_eq!(batch.str(by_id(6).account), "123456789012");
}

#[test]
fn skips_and_counts_malformed_records() {
    let doc = br#"{"Records":[
        {"eventTime":"2024-03-04T10:15:30Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"a"},
        {"eventSource":"s3.amazonaws.com","eventName":"NoTime","eventID":"b"},
        {"eventTime":"not a time","eventSource":"s3.amazonaws.com","eventName":"BadTime","eventID":"c"},
        null, 42, "text",
        {"eventTime":"2024-03-04T10:15:31Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"d","userIdentity":"weird"},
        {"eventTime":"2024-03-04T10:15:32Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e","readOnly":"maybe"},
        {"eventTime":"2024-03-04T10:15:33Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"f"}
    ]}"#;
    let batch = CtBatch::read(&doc[..], &Limits::default()).unwrap();
    let ids: Vec<&str> = batch.events.iter().map(|e| &*e.event_id).collect();
    assert_eq!(ids, ["a", "f"]);
    assert_eq!(batch.skipped, 7);
}

#[test]
fn a_bad_file_is_an_error() {
    let cases: [&[u8]; 3] = [
        b"{\"Records\":[{\"eventID\":\"a\"",
        b"<html>not json</html>",
        b"{\"digestStartTime\":\"2024-03-04T10:00:00Z\",\"logFiles\":[]}",
    ];
    for doc in cases {
        assert!(
            CtBatch::read(doc, &Limits::default()).is_err(),
            "case {}",
            String::from_utf8_lossy(doc)
        );
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_cap() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(b"{\"Records\":[{\"eventID\":\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&chunk).unwrap();
    }
    let gz = enc.finish().unwrap();
    let limits = Limits {
        max_decompressed_bytes: 4 << 20,
        max_record_bytes: 64 << 20,
        ..Limits::default()
    };
    match CtBatch::read(&gz[..], &limits) {
        Err(CloudTrailError::Decode(DecodeError::TooLarge { cap })) => assert_eq!(cap, 4 << 20),
        other => panic!("expected TooLarge, got {:?}", other.map(|b| b.events.len())),
    }
}

#[test]
fn tells_log_files_from_digests_and_other_keys() {
    let cases = [
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1015Z_abcdEFGH12345678.json.gz",
            KeyKind::LogFile,
        ),
        (
            "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/04/123456789012_CloudTrail-Digest_us-east-1_20240304T101530Z.json.gz",
            KeyKind::Digest,
        ),
        (
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/x.json",
            KeyKind::LogFile,
        ),
        (
            "AWSLogs/123456789012/elasticloadbalancing/x.log.gz",
            KeyKind::Other,
        ),
        ("AWSLogs/", KeyKind::Other),
    ];
    for (key, want) in cases {
        assert_eq!(key_kind(key), want, "case {key}");
    }
}

/// Regression: a record over the maximum size failed its whole file; now it is
/// skipped and counted and the records after it are read.
#[test]
fn an_oversized_record_is_skipped_and_counted() {
    let doc = format!(
        r#"{{"Records":[
        {{"eventTime":"2024-03-04T10:15:30Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"a"}},
        {{"eventTime":"2024-03-04T10:15:31Z","eventSource":"s3.amazonaws.com","eventName":"Big","eventID":"big","requestParameters":{{"x":"{}"}}}},
        {{"eventTime":"2024-03-04T10:15:32Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"b"}}
    ]}}"#,
        "a".repeat(9 << 20)
    );
    let batch = CtBatch::read(doc.as_bytes(), &Limits::default()).unwrap();
    let ids: Vec<&str> = batch.events.iter().map(|e| &*e.event_id).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(batch.skipped, 1);
}

/// Regression: a single flipped bit in a gzipped log file could leave the splitter
/// looping forever on a stray token. Every byte of a small gzipped file is
/// corrupted in turn; each read must end (with events, or an error).
#[test]
fn every_corruption_of_a_gzipped_file_ends() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let doc = br#"{"Records":[{"eventTime":"2024-03-04T10:15:30Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"a"},{"eventTime":"2024-03-04T10:15:31Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"b","requestParameters":{"userName":"x"}}]}"#;
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(doc).unwrap();
    let gz = enc.finish().unwrap();
    let limits = Limits::default();
    assert_eq!(CtBatch::read(&gz[..], &limits).unwrap().events.len(), 2);
    for at in 0..gz.len() {
        for bit in 0..8 {
            let mut bad = gz.clone();
            bad[at] ^= 1 << bit;
            if let Ok(b) = CtBatch::read(&bad[..], &limits) {
                assert!(b.events.len() <= 2, "byte {at} bit {bit}");
            }
        }
        let _ = CtBatch::read(&gz[..at], &limits);
    }
}

/// Regression: a record dated on an impossible day was read (and rolled over into
/// the next month); it is now skipped and counted as malformed.
#[test]
fn a_record_with_an_impossible_date_is_skipped() {
    let doc = br#"{"Records":[
        {"eventTime":"2024-02-31T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"A","eventID":"feb31"},
        {"eventTime":"2023-02-29T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"A","eventID":"feb29"},
        {"eventTime":"2024-03-04T25:00:00Z","eventSource":"s3.amazonaws.com","eventName":"A","eventID":"h25"},
        {"eventTime":"2024-02-29T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"A","eventID":"ok"}
    ]}"#;
    let batch = CtBatch::read(&doc[..], &Limits::default()).unwrap();
    let ids: Vec<&str> = batch.events.iter().map(|e| &*e.event_id).collect();
    assert_eq!(ids, ["ok"]);
    assert_eq!(batch.skipped, 3);
}

/// A reader hands out batches of at most the asked number of events, whose
/// counts add up to the file's; skipped records land in the batch they were met in.
#[test]
fn a_reader_splits_a_file_into_bounded_batches() {
    let rec = |i: usize| {
        format!(
            r#"{{"eventTime":"2024-03-04T10:15:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e{i}"}}"#,
            i % 60
        )
    };
    let mut records: Vec<String> = (0..25).map(rec).collect();
    records.insert(12, "42".to_owned());
    records.insert(20, format!(r#"{{"x":"{}"}}"#, "a".repeat(5000)));
    let doc = format!("{{\"Records\":[{}]}}", records.join(","));
    let limits = Limits {
        max_record_bytes: 1000,
        ..Limits::default()
    };
    let mut reader = CtReader::open(doc.as_bytes(), &limits, None).unwrap();
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(b) = reader.next_batch(10).unwrap() {
        sizes.push((b.events.len(), b.skipped));
        ids.extend(b.events.iter().map(|e| e.event_id.to_string()));
    }
    assert_eq!(sizes, [(10, 0), (10, 2), (5, 0)]);
    assert_eq!(ids, (0..25).map(|i| format!("e{i}")).collect::<Vec<_>>());
    assert_eq!(reader.records(), 27);
    assert!(reader.next_batch(10).unwrap().is_none());
}
