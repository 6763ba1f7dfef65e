//! The simulated latency: time to first token plus output tokens over throughput.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Latency model of the simulated provider.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyModel {
    /// Fixed delay before the first token (default 0.4 s).
    pub time_to_first_token: Duration,
    /// Output tokens per second after the first token (default 60).
    pub tokens_per_second: f64,
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            time_to_first_token: Duration::from_millis(400),
            tokens_per_second: 60.0,
        }
    }
}

impl LatencyModel {
    /// Modelled latency of a reply of `tokens_out` tokens: `ttft + tokens_out / throughput`.
    /// A non-positive throughput counts as infinite (only the time to first token remains).
    pub fn latency(&self, tokens_out: u32) -> Duration {
        let streaming = if self.tokens_per_second > 0.0 {
            crate::secs(f64::from(tokens_out) / self.tokens_per_second)
        } else {
            Duration::ZERO
        };
        self.time_to_first_token + streaming
    }
}

/// The time really awaited for a modelled latency: `latency * time_scale` (0 = no wait).
pub fn scaled(latency: Duration, time_scale: f64) -> Duration {
    crate::secs(latency.as_secs_f64() * time_scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_ttft_plus_tokens_over_throughput() {
        let model = LatencyModel::default();
        assert_eq!(model.latency(0), Duration::from_millis(400));
        assert_eq!(model.latency(60), Duration::from_millis(1400));
        assert_eq!(model.latency(30), Duration::from_millis(900));
        let no_stream = LatencyModel {
            tokens_per_second: 0.0,
            ..model
        };
        assert_eq!(no_stream.latency(1000), Duration::from_millis(400));
    }

    #[test]
    fn scaling() {
        let l = Duration::from_millis(1400);
        assert_eq!(scaled(l, 0.0), Duration::ZERO);
        assert_eq!(scaled(l, 1.0), l);
        assert_eq!(scaled(l, 0.5), Duration::from_millis(700));
        assert_eq!(scaled(l, -1.0), Duration::ZERO);
        assert_eq!(scaled(l, f64::NAN), Duration::ZERO);
    }
}
