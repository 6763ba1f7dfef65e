//! Retry timing: `Retry-After` parsing and exponential backoff with jitter.

use std::time::{Duration, SystemTime};

use crate::simulated::SplitMix64;

/// Parse a `Retry-After` value: delay seconds (integer or decimal) or an HTTP date, relative to
/// `now` (a date in the past means no wait). `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| crate::secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Backoff before HTTP attempt `attempt + 1` after `attempt` failures (1-based): the cap
/// `min(max, base * 2^(attempt-1))`, of which half is fixed and half drawn uniformly (equal jitter).
pub fn backoff(attempt: u32, base: Duration, max: Duration, rng: &mut SplitMix64) -> Duration {
    let factor = 2f64.powi(attempt.saturating_sub(1).min(62) as i32);
    let cap = (base.as_secs_f64() * factor).min(max.as_secs_f64());
    crate::secs(cap / 2.0 + rng.next_f64() * cap / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.25 ", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let mut rng = SplitMix64::new(9);
        for attempt in 1..=10u32 {
            let cap = (0.1 * 2f64.powi(attempt as i32 - 1)).min(1.0);
            let d = backoff(attempt, base, max, &mut rng).as_secs_f64();
            assert!(
                d >= cap / 2.0 - 1e-9 && d <= cap + 1e-9,
                "attempt {attempt}: {d} vs cap {cap}"
            );
        }
    }
}
