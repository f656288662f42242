//! Backing off from the account's concurrency limit.
//!
//! When NetSuite refuses a call for concurrency (429, `CONCURRENCY_LIMIT_EXCEEDED`,
//! `SSS_REQUEST_LIMIT_EXCEEDED`) the client gives its slot back, waits and tries again, up to
//! [`ConcurrencyRetry::max_retries`] times. The wait is "full jitter": a uniform random time in
//! `[0, min(cap, base · 2^attempt)]`, which spreads competing replicas out instead of letting them
//! collide again in lock step. A `Retry-After` from the server is honoured: the wait is never
//! shorter than it (bounded by [`RETRY_AFTER_CEILING`] so a hostile header cannot park a worker).
//!
//! Only concurrency errors are retried here; other transient failures (5xx, timeouts) are left to
//! the caller's queue, which knows whether the call was idempotent.

use std::time::Duration;

use rand::Rng;

use crate::error::NetSuiteError;

/// The longest `Retry-After` honoured.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(60);

/// How the client retries calls refused for concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyRetry {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// The first backoff's upper bound.
    pub base: Duration,
    /// No backoff is longer (before `Retry-After`).
    pub cap: Duration,
    /// Treat `INVALID_LOGIN` as a concurrency error when the refused call took at least this long.
    /// An over-limit call has been seen to fail that way after a long wait, while a wrong
    /// credential is refused at once. `None` (the default) never retries `INVALID_LOGIN`.
    pub invalid_login_after: Option<Duration>,
}

impl Default for ConcurrencyRetry {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            invalid_login_after: None,
        }
    }
}

impl ConcurrencyRetry {
    /// The upper bound of the wait before retry number `attempt + 1`: `min(cap, base · 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `attempt + 1`, given a uniform sample `unit` in `[0, 1)`.
    pub fn delay_with(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let jitter = self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => jitter.max(asked.min(RETRY_AFTER_CEILING)),
            None => jitter,
        }
    }

    /// The wait before retry number `attempt + 1`, with fresh randomness.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with(attempt, retry_after, rand::rng().random::<f64>())
    }

    /// Whether `err`, from a call that took `elapsed`, is worth a concurrency retry.
    pub fn applies_to(&self, err: &NetSuiteError, elapsed: Duration) -> bool {
        err.is_concurrency_limit()
            || (err.error_code() == Some("INVALID_LOGIN")
                && self
                    .invalid_login_after
                    .is_some_and(|after| elapsed >= after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ConcurrencyRetry {
        ConcurrencyRetry::default()
    }

    #[test]
    fn ceiling_doubles_from_base_up_to_cap() {
        let p = policy();
        let ceilings: Vec<u64> = (0..7).map(|a| p.ceiling(a).as_millis() as u64).collect();
        assert_eq!(ceilings, [200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(p.ceiling(u32::MAX), p.cap);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let p = policy();
        assert_eq!(p.delay_with(3, None, 0.0), Duration::ZERO);
        assert_eq!(p.delay_with(3, None, 0.5), Duration::from_millis(800));
        assert!(p.delay_with(3, None, 0.999_999) <= p.ceiling(3));
        for _ in 0..100 {
            assert!(p.delay(2, None) <= Duration::from_millis(800));
        }
    }

    #[test]
    fn retry_after_is_a_floor_with_a_ceiling() {
        let p = policy();
        let asked = Some(Duration::from_secs(2));
        assert_eq!(p.delay_with(0, asked, 0.0), Duration::from_secs(2));
        assert_eq!(p.delay_with(5, asked, 1.0), Duration::from_secs(5));
        let hostile = Some(Duration::from_secs(86_400));
        assert_eq!(p.delay_with(0, hostile, 0.0), RETRY_AFTER_CEILING);
    }

    #[test]
    fn invalid_login_counts_only_when_slow_and_enabled() {
        let login = NetSuiteError::from_response(
            401,
            br#"{"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}"#,
        );
        let slow = Duration::from_secs(30);
        assert!(!policy().applies_to(&login, slow));
        let tolerant = ConcurrencyRetry {
            invalid_login_after: Some(Duration::from_secs(10)),
            ..policy()
        };
        assert!(tolerant.applies_to(&login, slow));
        assert!(!tolerant.applies_to(&login, Duration::from_millis(80)));
    }

    #[test]
    fn only_concurrency_errors_apply() {
        let p = policy();
        let instant = Duration::ZERO;
        assert!(p.applies_to(&NetSuiteError::from_response(429, b""), instant));
        let restlet =
            br#"{"o:errorDetails":[{"detail":"x","o:errorCode":"SSS_REQUEST_LIMIT_EXCEEDED"}]}"#;
        assert!(p.applies_to(&NetSuiteError::from_response(400, restlet), instant));
        assert!(!p.applies_to(&NetSuiteError::from_response(503, b""), instant));
        let user = br#"{"o:errorDetails":[{"detail":"x","o:errorCode":"USER_ERROR"}]}"#;
        assert!(!p.applies_to(&NetSuiteError::from_response(400, user), instant));
    }
}
