//! Trigger events: S3 event notifications delivered directly, or as SQS messages
//! (optionally through an SNS topic), reduced to the objects to process.

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use trailhound_core::ports::ObjectRef;

/// What one invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A direct S3 notification: the objects created.
    S3(Vec<ObjectRef>),
    /// An SQS batch: one entry per message.
    Sqs(Vec<SqsItem>),
}

/// One SQS message and the objects its notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsItem {
    /// The message id, reported back in `batchItemFailures` when the item fails.
    pub message_id: String,
    /// The message body as received, kept for the dead-letter queue.
    pub body: String,
    /// The sum of the object sizes the notification declares (0 when unknown): the
    /// handler starts with the smallest, so one huge object cannot keep the others
    /// from running before the deadline.
    pub bytes: u64,
    /// The objects, or why the body is not an S3 notification. `s3:TestEvent`
    /// messages name no object.
    pub objects: Result<Vec<ObjectRef>, EventError>,
}

/// Why an event or message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Neither an S3 notification nor an SQS batch.
    #[error("unsupported trigger event (eventSource {0:?})")]
    Unsupported(String),
    /// The JSON does not have the notification's shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which document.
        what: &'static str,
        /// The parser's complaint (never the content).
        detail: String,
    },
    /// A key is not valid URL encoding of UTF-8.
    #[error("object key in bucket {bucket} is not valid URL-encoded UTF-8")]
    BadKey {
        /// The bucket.
        bucket: String,
    },
}

/// Reads a trigger event, telling S3 notifications from SQS batches by the first
/// record's `eventSource`.
pub fn parse_trigger(event: Value) -> Result<Trigger, EventError> {
    let source = event
        .get("Records")
        .and_then(|r| r.get(0))
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match source.as_str() {
        "aws:sqs" => {
            let batch: SqsEvent = serde_json::from_value(event).map_err(malformed("SQS event"))?;
            Ok(Trigger::Sqs(
                batch
                    .records
                    .into_iter()
                    .map(|m| {
                        let sized = m
                            .body
                            .as_deref()
                            .ok_or_else(|| EventError::Malformed {
                                what: "SQS message",
                                detail: "no body".into(),
                            })
                            .and_then(sized_objects_in_body);
                        let bytes = sized.as_ref().map_or(0, |o| o.iter().map(|(_, n)| n).sum());
                        SqsItem {
                            message_id: m.message_id.unwrap_or_default(),
                            body: m.body.unwrap_or_default(),
                            bytes,
                            objects: sized.map(|o| o.into_iter().map(|(r, _)| r).collect()),
                        }
                    })
                    .collect(),
            ))
        }
        "aws:s3" => objects_in_notification(event).map(Trigger::S3),
        "" if event
            .get("Records")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty) =>
        {
            Ok(Trigger::S3(Vec::new()))
        }
        other => Err(EventError::Unsupported(other.to_owned())),
    }
}

/// The objects named by an SQS message body: an S3 notification, an SNS envelope
/// around one, or an `s3:TestEvent` (no objects).
pub fn objects_in_body(body: &str) -> Result<Vec<ObjectRef>, EventError> {
    sized_objects_in_body(body).map(|o| o.into_iter().map(|(r, _)| r).collect())
}

/// [`objects_in_body`] with each object's declared size.
fn sized_objects_in_body(body: &str) -> Result<Vec<(ObjectRef, u64)>, EventError> {
    let doc: Value = serde_json::from_str(body).map_err(malformed("SQS message body"))?;
    // S3 → SNS → SQS fan-out without raw delivery wraps the notification.
    if doc.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(inner) = doc.get("Message").and_then(Value::as_str)
    {
        return sized_objects_in_body(inner);
    }
    sized_objects(doc)
}

/// The created objects of an S3 notification; `s3:TestEvent` and non-create events
/// name none.
pub fn objects_in_notification(doc: Value) -> Result<Vec<ObjectRef>, EventError> {
    sized_objects(doc).map(|o| o.into_iter().map(|(r, _)| r).collect())
}

/// [`objects_in_notification`] with each object's declared size.
fn sized_objects(doc: Value) -> Result<Vec<(ObjectRef, u64)>, EventError> {
    if doc.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if !doc.get("Records").is_some_and(Value::is_array) {
        return Err(EventError::Malformed {
            what: "S3 notification",
            detail: "no Records array".into(),
        });
    }
    let event: S3Event = serde_json::from_value(doc).map_err(malformed("S3 notification"))?;
    let mut out = Vec::with_capacity(event.records.len());
    for r in event.records {
        if !r
            .event_name
            .as_deref()
            .unwrap_or_default()
            .starts_with("ObjectCreated:")
        {
            continue;
        }
        let bucket = r.s3.bucket.name.unwrap_or_default();
        let Some(raw) = r.s3.object.key else {
            return Err(EventError::Malformed {
                what: "S3 notification",
                detail: "record without object key".into(),
            });
        };
        let key = decode_key(&raw).ok_or_else(|| EventError::BadKey {
            bucket: bucket.clone(),
        })?;
        let size =
            r.s3.object
                .size
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
        out.push((ObjectRef { bucket, key }, size));
    }
    Ok(out)
}

/// Decodes an S3 notification key: form encoding, so `+` is a space and `%2B` a plus.
pub fn decode_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> EventError {
    move |e| EventError::Malformed {
        what,
        // serde_json's messages name the field and position, not the data.
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
