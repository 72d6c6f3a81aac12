use super::*;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

const BUCKET: &str = "aws-cloudtrail-logs-123456789012-3f5e7a1c";

#[test]
fn reads_a_direct_s3_notification() {
    let Trigger::S3(objects) = parse_trigger(fixture("s3-put.json")).unwrap() else {
        unreachable!("not read as S3")
    };
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].bucket, BUCKET);
    assert!(
        objects[0]
            .key
            .starts_with("AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/")
    );
}

#[test]
fn decodes_form_encoded_keys() {
    let Trigger::S3(objects) = parse_trigger(fixture("s3-put-encoded-key.json")).unwrap() else {
        unreachable!("not read as S3")
    };
    assert!(
        objects[0]
            .key
            .starts_with("org trail/AWSLogs/o-a1b2c3d4e5/"),
        "{}",
        objects[0].key
    );
    assert!(
        objects[0].key.ends_with("_Pq7rSt2uVw3xYz4A+b.json.gz"),
        "{}",
        objects[0].key
    );
}

#[test]
fn reads_s3_notifications_wrapped_in_sqs_messages() {
    let Trigger::Sqs(items) = parse_trigger(fixture("sqs-s3-put.json")).unwrap() else {
        unreachable!("not read as SQS")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
    assert_eq!(
        (items[0].bytes, items[1].bytes),
        (8231, 5120),
        "declared sizes"
    );
    assert!(
        items[0].body.contains("Zb3cRq8mN2pLx7Yt"),
        "the body is kept"
    );
    let objects = items[1].objects.as_ref().unwrap();
    assert_eq!(objects.len(), 1);
    assert!(objects[0].key.contains("/eu-west-1/"));
}

#[test]
fn s3_test_events_name_no_objects() {
    let Trigger::Sqs(items) = parse_trigger(fixture("sqs-s3-test-event.json")).unwrap() else {
        unreachable!("not read as SQS")
    };
    assert_eq!(items[0].objects, Ok(Vec::new()));
}

#[test]
fn unwraps_sns_envelopes_in_sqs_bodies() {
    let s3 = fixture("s3-put.json");
    let envelope = serde_json::json!({
        "Type": "Notification",
        "MessageId": "a1b2c3d4-0000-4000-8000-000000000001",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:cloudtrail-objects",
        "Message": s3.to_string(),
    });
    let objects = objects_in_body(&envelope.to_string()).unwrap();
    assert_eq!(objects[0].bucket, BUCKET);
}

#[test]
fn a_body_that_is_not_a_notification_fails_only_its_message() {
    let mut batch = fixture("sqs-s3-put.json");
    batch["Records"][0]["body"] = Value::String("{\"hello\":1}".into());
    let Trigger::Sqs(items) = parse_trigger(batch).unwrap() else {
        unreachable!("not read as SQS")
    };
    assert!(matches!(
        items[0].objects,
        Err(EventError::Malformed { .. })
    ));
    assert!(items[1].objects.is_ok());
}

#[test]
fn other_events_are_refused() {
    let err = parse_trigger(serde_json::json!({"Records": [{"eventSource": "aws:kinesis"}]}))
        .unwrap_err();
    assert_eq!(err, EventError::Unsupported("aws:kinesis".into()));
}

#[test]
fn key_decoding_cases() {
    let cases = [
        ("a+b", Some("a b")),
        ("a%2Bb", Some("a+b")),
        ("caf%C3%A9", Some("café")),
        ("plain/key.json.gz", Some("plain/key.json.gz")),
        ("bad%zz", None),
        ("cut%2", None),
        ("%FF", None),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_key(raw).as_deref(), want, "{raw}");
    }
}
