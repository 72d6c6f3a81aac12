//! Translation of SDK errors into the core's [`PortError`], with a retry class.
//!
//! The SDK has already retried throttling, 5xx and timeouts by the time an error
//! reaches us (standard retry mode, 3 attempts); what is left is classified so that
//! Lambda retries only what a later attempt can fix.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use trailhound_core::ports::{PortError, Retry};

/// Error codes that mean "try again later" whatever the HTTP status says.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "Throttled",
    "SlowDown",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "TransactionConflictException",
    "InternalError",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSThrottlingException",
    "KMSThrottling",
];

/// Whether an error code names a throttling or transient server condition.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// Classifies an SDK error: transport failures, timeouts, throttling and 5xx are
/// retryable; everything the service refused on its merits (4xx) is not.
pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Retry {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Retry::Retryable
        }
        SdkError::ServiceError(service) => {
            if service.err().code().is_some_and(is_retryable_code) {
                return Retry::Retryable;
            }
            let status = service.raw().status().as_u16();
            if status == 429 || status >= 500 {
                Retry::Retryable
            } else {
                Retry::NonRetryable
            }
        }
        // Building the request failed: a bug or a bad configuration, not a blip.
        _ => Retry::NonRetryable,
    }
}

/// The HTTP status of a service error, when the service answered.
pub(crate) fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The error code of a service error, when the service answered with one.
pub(crate) fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// Wraps an SDK error as a [`PortError`] whose message names the operation and the
/// resource, and whose retry class comes from [`classify`].
pub(crate) fn port_error<E>(
    err: SdkError<E, HttpResponse>,
    what: impl std::fmt::Display,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retry = classify(&err);
    let detail = match (code(&err), status(&err)) {
        (Some(code), _) => code.to_owned(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => kind(&err).to_owned(),
    };
    let message = format!("{what}: {detail}");
    let e = match retry {
        Retry::Retryable => PortError::retryable(message),
        Retry::NonRetryable => PortError::non_retryable(message),
    };
    e.with_source(err)
}

fn kind<E, R>(err: &SdkError<E, R>) -> &'static str {
    match err {
        SdkError::ConstructionFailure(_) => "request could not be built",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "request could not be sent",
        SdkError::ResponseError(_) => "response could not be read",
        SdkError::ServiceError(_) => "service error",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_retryable() {
        for code in [
            "ThrottlingException",
            "SlowDown",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(is_retryable_code(code), "{code}");
        }
        for code in ["AccessDenied", "NoSuchKey", "ValidationException"] {
            assert!(!is_retryable_code(code), "{code}");
        }
    }
}
