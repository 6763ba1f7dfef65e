//! The simulated provider: the unit's reference code with faults injected, deterministically.
//!
//! See the crate documentation for the parameter table.

mod faults;
mod latency;
mod rng;
mod sites;

use serde::{Deserialize, Serialize};

pub use faults::{
    inject_faults, FaultClass, FaultKind, FaultMix, FaultSites, InjectedFault, Injection,
};
pub use latency::{scaled, LatencyModel};
pub use rng::{call_seed, SplitMix64};

use crate::{
    estimate_tokens, pricing, prompt, GenerateError, GenerationRequest, GenerationResponse,
    Generator,
};

/// Default per-line fault rate.
pub const DEFAULT_FAULT_RATE: f64 = 0.01;
/// Default factor applied to the fault rate when a request carries feedback.
pub const DEFAULT_FEEDBACK_FAULT_FACTOR: f64 = 0.3;
/// Default model name of the simulated provider.
pub const DEFAULT_SIMULATED_MODEL: &str = "sim-coder-1";

/// Configuration of the simulated provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulatedConfig {
    pub seed: u64,
    /// Probability that an eligible line gets a fault, in `[0, 1]`.
    pub fault_rate: f64,
    pub fault_mix: FaultMix,
    /// Multiplies the fault rate when the request carries non-empty feedback, in `[0, 1]`.
    pub feedback_fault_factor: f64,
    pub latency: LatencyModel,
    /// The modelled latency times this is really awaited; 0 means no wait.
    pub time_scale: f64,
    pub model: String,
}

impl Default for SimulatedConfig {
    fn default() -> Self {
        SimulatedConfig {
            seed: 0,
            fault_rate: DEFAULT_FAULT_RATE,
            fault_mix: FaultMix::default(),
            feedback_fault_factor: DEFAULT_FEEDBACK_FAULT_FACTOR,
            latency: LatencyModel::default(),
            time_scale: 1.0,
            model: DEFAULT_SIMULATED_MODEL.to_string(),
        }
    }
}

/// The simulated, offline, deterministic generator.
#[derive(Debug, Clone)]
pub struct SimulatedGenerator {
    config: SimulatedConfig,
}

fn check_unit_interval(field: &'static str, value: f64) -> Result<(), GenerateError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(GenerateError::Config {
            field,
            message: format!("{value} is not in [0, 1]"),
        })
    }
}

impl SimulatedGenerator {
    /// Check the configuration and build the generator.
    pub fn new(config: SimulatedConfig) -> Result<SimulatedGenerator, GenerateError> {
        check_unit_interval("fault_rate", config.fault_rate)?;
        check_unit_interval("feedback_fault_factor", config.feedback_fault_factor)?;
        config
            .fault_mix
            .validate()
            .map_err(|message| GenerateError::Config {
                field: "fault_mix",
                message,
            })?;
        if !config.time_scale.is_finite() || config.time_scale < 0.0 {
            return Err(GenerateError::Config {
                field: "time_scale",
                message: format!("{} is not a finite value >= 0", config.time_scale),
            });
        }
        if !config.latency.tokens_per_second.is_finite() || config.latency.tokens_per_second <= 0.0
        {
            return Err(GenerateError::Config {
                field: "latency.tokens_per_second",
                message: format!(
                    "{} is not a finite value > 0",
                    config.latency.tokens_per_second
                ),
            });
        }
        if config.model.trim().is_empty() {
            return Err(GenerateError::Config {
                field: "model",
                message: "empty model name".to_string(),
            });
        }
        Ok(SimulatedGenerator { config })
    }

    pub fn config(&self) -> &SimulatedConfig {
        &self.config
    }

    /// The fault rate that applies to a request: the configured rate, times the feedback factor
    /// when the request carries non-empty feedback.
    pub fn effective_fault_rate(&self, request: &GenerationRequest) -> f64 {
        let has_feedback = request
            .feedback
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty());
        if has_feedback {
            self.config.fault_rate * self.config.feedback_fault_factor
        } else {
            self.config.fault_rate
        }
    }

    /// Everything about a response except the wait: pure and deterministic.
    pub fn plan_response(
        &self,
        request: &GenerationRequest,
    ) -> Result<GenerationResponse, GenerateError> {
        let expected =
            request
                .expected
                .as_deref()
                .ok_or_else(|| GenerateError::MissingExpected {
                    unit_id: request.unit_id.clone(),
                })?;
        let rate = self.effective_fault_rate(request);
        let (code, injected_faults) = if rate > 0.0 {
            let mut rng = SplitMix64::new(call_seed(
                self.config.seed,
                &request.unit_id,
                request.attempt,
            ));
            let injection = inject_faults(
                expected,
                request.language,
                rate,
                &self.config.fault_mix,
                &mut rng,
            );
            (injection.code, injection.faults)
        } else {
            (expected.to_string(), Vec::new())
        };
        let tokens_in = prompt::render(request).estimated_tokens();
        let tokens_out = estimate_tokens(&code);
        Ok(GenerationResponse {
            latency: self.config.latency.latency(tokens_out),
            cost_usd: pricing::cost_usd(&self.config.model, tokens_in, tokens_out),
            model: self.config.model.clone(),
            code,
            tokens_in,
            tokens_out,
            tokens_estimated: true,
            provider_attempts: 1,
            logprobs: None,
            injected_faults,
        })
    }
}

#[async_trait::async_trait]
impl Generator for SimulatedGenerator {
    fn name(&self) -> &str {
        "simulated"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn generate(
        &self,
        request: &GenerationRequest,
    ) -> Result<GenerationResponse, GenerateError> {
        let response = self.plan_response(request)?;
        let wait = scaled(response.latency, self.config.time_scale);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(response)
    }
}
