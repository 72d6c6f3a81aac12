//! The dead-letter queue for messages that can never succeed (an object that is
//! not a CloudTrail file, a body that is not an S3 notification): the handler puts
//! such a message there once, with its reason, and reports it done, instead of
//! letting the redrive policy retry it `maxReceiveCount` times first. The body is
//! kept as received, so a redrive (`StartMessageMoveTask`) after a fix replays it.

use aws_sdk_sqs::types::MessageAttributeValue;

/// SQS caps a message attribute's value far above this; the reason is for people.
const MAX_REASON_CHARS: usize = 1000;

/// One message to set aside.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    /// The SQS message id it came with.
    pub message_id: &'a str,
    /// The message body as received.
    pub body: &'a str,
    /// Why it can never succeed (the error, naming bucket and key).
    pub reason: &'a str,
}

/// Why a message could not be set aside; the handler then reports it failed, so
/// the redrive policy still keeps it.
#[derive(Debug, thiserror::Error)]
#[error("cannot send message {message_id} to the dead-letter queue {queue_url}: {source}")]
pub struct DeadLetterError {
    /// The message.
    pub message_id: String,
    /// The queue.
    pub queue_url: String,
    /// The SDK's error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The dead-letter queue on SQS (`DEAD_LETTER_QUEUE_URL`).
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    /// Sends to the queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Sends one message with its reason as message attributes (`ErrorType`,
    /// `ErrorMessage`, `SourceMessageId`), as Lambda does for its own DLQs.
    pub async fn send(&self, letter: &DeadLetter<'_>) -> Result<(), DeadLetterError> {
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
        };
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| DeadLetterError {
            message_id: letter.message_id.to_owned(),
            queue_url: self.queue_url.clone(),
            source: e,
        };
        let reason: String = letter.reason.chars().take(MAX_REASON_CHARS).collect();
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(letter.body)
            .message_attributes(
                "ErrorType",
                attr("NonRetryable").map_err(|e| failed(e.into()))?,
            )
            .message_attributes("ErrorMessage", attr(&reason).map_err(|e| failed(e.into()))?)
            .message_attributes(
                "SourceMessageId",
                attr(letter.message_id).map_err(|e| failed(e.into()))?,
            )
            .send()
            .await
            .map_err(|e| {
                failed(
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                        .to_string()
                        .into(),
                )
            })?;
        Ok(())
    }
}
