//! Bounded exponential backoff with full jitter, for the retries the SDK cannot do
//! itself: unprocessed items of batch calls and cancelled transactions.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How often and how long to back off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Ceiling of the first wait.
    pub base: Duration,
    /// Largest ceiling of any wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 8 retries from 50 ms up to 5 s: about 10 s at worst, well inside a Lambda
    /// timeout, and enough to ride out a burst of throttling.
    fn default() -> Self {
        Self {
            retries: 8,
            base: Duration::from_millis(50),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// No waiting at all (tests).
    pub fn immediate(retries: u32) -> Self {
        Self {
            retries,
            base: Duration::ZERO,
            max: Duration::ZERO,
        }
    }

    /// The wait before retry number `attempt` (1-based): uniform in
    /// `0..=min(max, base * 2^(attempt-1))` ("full jitter"), so that writers
    /// throttled together do not retry together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let ceiling = self.base.saturating_mul(factor).min(self.max);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(jitter() % (nanos + 1))
    }

    /// Sleeps before retry number `attempt`.
    pub async fn wait(&self, attempt: u32) {
        let d = self.delay(attempt);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

/// A random number from the standard library's per-process random hash keys: good
/// enough to spread retries, and no extra dependency.
fn jitter() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x6a09_e667_f3bc_c908);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_exponential_ceiling() {
        let b = Backoff {
            retries: 10,
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
        };
        for attempt in 1..=10 {
            let ceiling =
                Duration::from_millis(10 * (1 << (attempt - 1))).min(Duration::from_millis(100));
            for _ in 0..50 {
                assert!(b.delay(attempt) <= ceiling, "attempt {attempt}");
            }
        }
    }

    #[test]
    fn immediate_backoff_never_waits() {
        assert_eq!(Backoff::immediate(3).delay(3), Duration::ZERO);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        assert!(Backoff::default().delay(u32::MAX) <= Duration::from_secs(5));
    }
}
