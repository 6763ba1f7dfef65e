//! Code generators: the [`Generator`] trait and its two providers.
//!
//! A generator turns one [`GenerationRequest`] (a subtask or an atom, with its prompt, context,
//! the feedback of the previous attempt and a temperature) into one [`GenerationResponse`] (code,
//! tokens, latency, model, cost). The crate knows nothing of execution strategies or the store.
//!
//! - [`SimulatedGenerator`] (the default, offline): returns the unit's reference code with faults
//!   injected at a per-line rate, deterministically for a given seed. Each injected fault is
//!   reported in [`GenerationResponse::injected_faults`] as ground truth for tests and benchmarks.
//! - [`OpenAiGenerator`]: any OpenAI-compatible `POST {base_url}/chat/completions` endpoint, with a
//!   concurrency limit, per-request timeouts and bounded retries.
//!
//! # Simulated provider parameters
//!
//! | parameter | field | default | meaning |
//! |---|---|---|---|
//! | seed | [`SimulatedConfig::seed`] | `0` | with `unit_id` and `attempt`, seeds the RNG of one call (SplitMix64) |
//! | fault rate | [`SimulatedConfig::fault_rate`] | `0.01` | probability that an eligible line (one offering at least one fault site) gets one fault |
//! | fault mix | [`SimulatedConfig::fault_mix`] | syntax 0.20, misspelled identifier 0.25, arity/import 0.20, logic 0.35 | weights of the fault kinds ([`FaultMix`]) |
//! | feedback factor | [`SimulatedConfig::feedback_fault_factor`] | `0.3` | when the request carries feedback, the fault rate is multiplied by this |
//! | time to first token | [`LatencyModel::time_to_first_token`] | `0.4 s` | fixed part of the modelled latency |
//! | throughput | [`LatencyModel::tokens_per_second`] | `60 tok/s` | output tokens per second after the first token |
//! | time scale | [`SimulatedConfig::time_scale`] | `1.0` | the modelled latency times this is really awaited; `0` = instant |
//! | model | [`SimulatedConfig::model`] | `sim-coder-1` | model name reported and priced ([`pricing::PRICES`]) |
//!
//! Fault kinds and what each changes on one line (sites are found with tree-sitter on real tokens;
//! a line without a site of the drawn kind falls back to the next kind in the order below):
//!
//! | kind | change |
//! |---|---|
//! | [`FaultKind::SyntaxError`] | drops a closing `)`, `]` or `}`, or a Python block colon; kept only if the parse gains an error |
//! | [`FaultKind::MisspelledIdentifier`] | a referenced identifier (not a definition, parameter, target or import) gets one letter dropped, doubled or swapped, to a name absent from the unit |
//! | [`FaultKind::WrongArity`] | a call whose arguments are all positional and on one line loses its last argument (or gains `None`/`undefined` when it has none) |
//! | [`FaultKind::WrongImportName`] | an imported name is misspelled |
//! | [`FaultKind::FlippedComparison`] | a comparison is negated: `<`↔`>=`, `>`↔`<=`, `==`↔`!=`, `===`↔`!==` |
//! | [`FaultKind::FlippedOperator`] | an arithmetic operator is changed: `+`↔`-`, `*`↔`/`, `//`→`/`, `%`→`/` |
//! | [`FaultKind::OffByOne`] | a decimal integer literal `n` becomes `n + 1` (or `n - 1`) |
//! | [`FaultKind::SwappedArguments`] | two adjacent positional arguments of a call are swapped |
//!
//! Within the arity/import kind and the logic kind, one site of the line is drawn uniformly.
//! A retry (a higher `attempt`) draws anew: the RNG of a call is seeded from
//! `(seed, unit_id, attempt)` only, so the same request always gives the same response, whatever
//! ran before. The simulation never looks at validation results: non-empty feedback only switches
//! the feedback factor on, and the temperature does not change the simulation. The faults are
//! recorded in [`GenerationResponse::injected_faults`] (kind, line, column, original and
//! replacement text); undoing them gives the reference back.
//!
//! # Tokens, latency and cost
//!
//! Tokens are estimated as one token per 4 bytes, rounded up ([`estimate_tokens`]); input tokens
//! count the rendered prompt ([`prompt::render`]), output tokens the code. The simulated latency is
//! `time_to_first_token + tokens_out / tokens_per_second`. Cost is
//! `tokens_in * input_price + tokens_out * output_price` from the per-million-token table
//! [`pricing::PRICES`]; unknown models cost 0.
//!
//! # OpenAI-compatible provider parameters
//!
//! | parameter | field | default |
//! |---|---|---|
//! | base URL | [`OpenAiConfig::base_url`] | `https://api.openai.com/v1` (CLI: `MGE_OPENAI_BASE_URL`) |
//! | model | [`OpenAiConfig::model`] | `gpt-4o-mini` (CLI: `MGE_OPENAI_MODEL`) |
//! | API key | [`OpenAiConfig::api_key`] | none (CLI: `OPENAI_API_KEY`) |
//! | concurrency limit | [`OpenAiConfig::max_concurrency`] | `8` requests in flight |
//! | request timeout | [`OpenAiConfig::request_timeout`] | `120 s` per HTTP attempt |
//! | attempts | [`OpenAiConfig::max_attempts`] | `6` HTTP attempts per call |
//! | budget | [`OpenAiConfig::budget`] | `600 s` wall clock per call, retries and waits included |
//! | backoff | [`OpenAiConfig::backoff_base`], [`OpenAiConfig::backoff_max`] | `0.5 s` doubling, capped at `30 s`, full jitter |
//! | logprobs | [`OpenAiConfig::logprobs`] | `false` |
//!
//! 429, 5xx, timeouts and connection errors are retried, honouring `Retry-After` (seconds or HTTP
//! date); 429 with error code `insufficient_quota`, other 4xx and malformed replies are permanent.

mod error;
pub mod openai;
pub mod pricing;
pub mod prompt;
pub mod simulated;
mod tokens;

use std::time::Duration;

use mge_core::Language;
use serde::{Deserialize, Serialize};

pub use error::GenerateError;
pub use openai::{OpenAiConfig, OpenAiGenerator};
pub use simulated::{
    FaultKind, FaultMix, InjectedFault, LatencyModel, SimulatedConfig, SimulatedGenerator,
};
pub use tokens::estimate_tokens;

/// The providers, as named on the command line (`--provider simulated|openai`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Simulated,
    #[serde(rename = "openai")]
    OpenAi,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Simulated => "simulated",
            ProviderKind::OpenAi => "openai",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "simulated" => Ok(ProviderKind::Simulated),
            "openai" => Ok(ProviderKind::OpenAi),
            other => Err(GenerateError::Config {
                field: "provider",
                message: format!("unknown provider '{other}' (expected simulated or openai)"),
            }),
        }
    }
}

/// What kind of unit a request generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A whole task (one target file).
    Task,
    /// An MVP subtask (~25 LOC).
    Subtask,
    /// A V2 atom (~10 LOC).
    Atom,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Task => "task",
            UnitKind::Subtask => "subtask",
            UnitKind::Atom => "atom",
        }
    }
}

/// One request to generate the code of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// Stable id of the subtask or atom; with the seed and the attempt it seeds the simulation.
    pub unit_id: String,
    pub unit_kind: UnitKind,
    pub language: Language,
    /// Path of the target file, for the prompt (may be empty).
    pub file_path: String,
    /// What to write: the unit's description.
    pub prompt: String,
    /// Code and signatures the unit may use (imports, providers, the enclosing scope).
    pub context: String,
    /// Validation errors of the previous attempt, if any.
    pub feedback: Option<String>,
    pub temperature: f32,
    /// Attempt number, starting at 1; a retry uses a higher number and draws anew.
    pub attempt: u32,
    /// The unit's reference code. Only the simulated provider uses it.
    pub expected: Option<String>,
}

/// The log probability of one generated token, when the provider returns them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
}

/// What a generator produced for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationResponse {
    pub code: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    /// True when the token counts come from [`estimate_tokens`] rather than the provider.
    pub tokens_estimated: bool,
    /// Simulated: the modelled latency (before `time_scale`). HTTP: the measured wall-clock time
    /// of the call, retries and waits included.
    pub latency: Duration,
    pub model: String,
    pub cost_usd: f64,
    /// HTTP attempts used (1 for the simulated provider).
    pub provider_attempts: u32,
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// Faults the simulated provider injected (ground truth); always empty for real providers.
    pub injected_faults: Vec<InjectedFault>,
}

impl GenerationResponse {
    /// Mean log probability over the returned tokens, if any were returned.
    pub fn mean_logprob(&self) -> Option<f64> {
        let lps = self.logprobs.as_ref()?;
        if lps.is_empty() {
            return None;
        }
        Some(lps.iter().map(|t| t.logprob).sum::<f64>() / lps.len() as f64)
    }
}

/// A code generator. Object safe: executors hold a `Box<dyn Generator>` or `Arc<dyn Generator>`.
#[async_trait::async_trait]
pub trait Generator: Send + Sync {
    /// Short provider name (`simulated`, `openai`).
    fn name(&self) -> &str;
    /// The model requests are sent to.
    fn model(&self) -> &str;
    async fn generate(
        &self,
        request: &GenerationRequest,
    ) -> Result<GenerationResponse, GenerateError>;
}

/// Convert a duration in seconds from configuration; negative or non-finite values are zero.
pub(crate) fn secs(value: f64) -> Duration {
    if value.is_finite() && value > 0.0 {
        Duration::from_secs_f64(value.min(1e9))
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for kind in [ProviderKind::Simulated, ProviderKind::OpenAi] {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(
            "anthropic".parse::<ProviderKind>().unwrap_err().to_string(),
            "generator configuration: provider: unknown provider 'anthropic' (expected simulated or openai)"
        );
    }
}
