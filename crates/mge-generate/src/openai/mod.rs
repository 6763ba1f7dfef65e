//! The OpenAI-compatible provider: `POST {base_url}/chat/completions` with bounded retries.
//!
//! See the crate documentation for the parameter table.

mod extract;
mod retry;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::RETRY_AFTER;
use tokio::sync::Semaphore;

pub use extract::extract_code;
pub use retry::{backoff, parse_retry_after};

use crate::simulated::{call_seed, SplitMix64};
use crate::{
    estimate_tokens, pricing, prompt, GenerateError, GenerationRequest, GenerationResponse,
    Generator,
};
use wire::{error_detail, excerpt, ChatRequest, ChatResponse, Message};

/// Environment variable of the base URL (read by the CLI).
pub const ENV_BASE_URL: &str = "MGE_OPENAI_BASE_URL";
/// Environment variable of the model (read by the CLI).
pub const ENV_MODEL: &str = "MGE_OPENAI_MODEL";
/// Environment variable of the API key (read by the CLI).
pub const ENV_API_KEY: &str = "OPENAI_API_KEY";

/// Configuration of the OpenAI-compatible provider.
#[derive(Clone, PartialEq)]
pub struct OpenAiConfig {
    /// Base URL up to the API version, e.g. `https://api.openai.com/v1`; `/chat/completions` is
    /// appended.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when present.
    pub api_key: Option<String>,
    /// Requests in flight at once, across all calls on this generator.
    pub max_concurrency: usize,
    /// Timeout of one HTTP attempt (connect, send, and read the whole reply).
    pub request_timeout: Duration,
    /// HTTP attempts per call, the first included.
    pub max_attempts: u32,
    /// Wall-clock budget of one call from its first attempt, waits and retries included.
    pub budget: Duration,
    /// First backoff cap; doubles per failed attempt.
    pub backoff_base: Duration,
    /// Largest backoff cap (a server's `Retry-After` may ask for more and is honoured).
    pub backoff_max: Duration,
    /// `max_tokens` of the request, when set.
    pub max_tokens: Option<u32>,
    /// Ask for token log probabilities and surface them in the response.
    pub logprobs: bool,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("max_concurrency", &self.max_concurrency)
            .field("request_timeout", &self.request_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("budget", &self.budget)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_tokens", &self.max_tokens)
            .field("logprobs", &self.logprobs)
            .finish()
    }
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: "https://api.openai.com/v1".to_string(),
            model: "gpt-4o-mini".to_string(),
            api_key: None,
            max_concurrency: 8,
            request_timeout: Duration::from_secs(120),
            max_attempts: 6,
            budget: Duration::from_secs(600),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_tokens: None,
            logprobs: false,
        }
    }
}

impl OpenAiConfig {
    /// The defaults, with base URL, model and API key taken from `lookup` (e.g. the process
    /// environment) under [`ENV_BASE_URL`], [`ENV_MODEL`] and [`ENV_API_KEY`] where set and
    /// non-empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> OpenAiConfig {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let defaults = OpenAiConfig::default();
        OpenAiConfig {
            base_url: get(ENV_BASE_URL).unwrap_or(defaults.base_url.clone()),
            model: get(ENV_MODEL).unwrap_or(defaults.model.clone()),
            api_key: get(ENV_API_KEY),
            ..defaults
        }
    }

    /// The endpoint requests are sent to.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

/// The OpenAI-compatible generator. Cheap to share behind an `Arc`; the concurrency limit holds
/// across all clones of the `Arc`.
#[derive(Debug)]
pub struct OpenAiGenerator {
    config: OpenAiConfig,
    endpoint: String,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
}

/// One failed HTTP attempt: the error and the server's requested wait, if any.
struct Failure {
    error: GenerateError,
    retry_after: Option<Duration>,
}

impl OpenAiGenerator {
    pub fn new(config: OpenAiConfig) -> Result<OpenAiGenerator, GenerateError> {
        let config_error = |field, message: &str| GenerateError::Config {
            field,
            message: message.to_string(),
        };
        let base = config.base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(config_error(
                "base_url",
                &format!("'{base}' is not an http:// or https:// URL"),
            ));
        }
        if config.model.trim().is_empty() {
            return Err(config_error("model", "empty model name"));
        }
        if config.max_concurrency == 0 {
            return Err(config_error("max_concurrency", "must be at least 1"));
        }
        if config.max_attempts == 0 {
            return Err(config_error("max_attempts", "must be at least 1"));
        }
        if config.request_timeout.is_zero() || config.budget.is_zero() {
            return Err(config_error(
                "request_timeout/budget",
                "must be greater than zero",
            ));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|e| config_error("http client", &e.to_string()))?;
        Ok(OpenAiGenerator {
            endpoint: config.endpoint(),
            permits: Arc::new(Semaphore::new(config.max_concurrency)),
            config,
            client,
        })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    async fn attempt(
        &self,
        body: &ChatRequest<'_>,
        timeout: Duration,
        request: &GenerationRequest,
    ) -> Result<ChatResponse, Failure> {
        let unit_id = || request.unit_id.clone();
        let url = || self.endpoint.clone();
        let transport = |e: reqwest::Error| {
            let error = if e.is_timeout() {
                GenerateError::Timeout {
                    unit_id: unit_id(),
                    url: url(),
                    after: timeout,
                }
            } else {
                GenerateError::Connection {
                    unit_id: unit_id(),
                    url: url(),
                    message: error_chain(&e),
                }
            };
            Failure {
                error,
                retry_after: None,
            }
        };
        let mut builder = self.client.post(&self.endpoint).timeout(timeout).json(body);
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key);
        }
        let reply = builder.send().await.map_err(transport)?;
        let status = reply.status();
        let retry_after = reply
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let text = reply.text().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_str::<ChatResponse>(&text).map_err(|e| Failure {
                error: GenerateError::MalformedResponse {
                    unit_id: unit_id(),
                    url: url(),
                    detail: format!("invalid JSON: {e}; body: {:?}", excerpt(&text)),
                },
                retry_after: None,
            });
        }
        let detail = error_detail(&text);
        let message = detail.message.clone().unwrap_or_else(|| excerpt(&text));
        let code = status.as_u16();
        let error = if code == 429 && detail.is_insufficient_quota() {
            GenerateError::InsufficientQuota {
                unit_id: unit_id(),
                url: url(),
                status: code,
                message,
            }
        } else if code == 429 {
            GenerateError::RateLimited {
                unit_id: unit_id(),
                url: url(),
                retry_after,
                message,
            }
        } else if status.is_server_error() {
            GenerateError::Server {
                unit_id: unit_id(),
                url: url(),
                status: code,
                message,
            }
        } else {
            GenerateError::Rejected {
                unit_id: unit_id(),
                url: url(),
                status: code,
                message,
            }
        };
        Err(Failure { error, retry_after })
    }

    fn response(
        &self,
        reply: ChatResponse,
        request: &GenerationRequest,
        estimated_in: u32,
        latency: Duration,
        attempts: u32,
    ) -> Result<GenerationResponse, GenerateError> {
        let malformed = |detail: String| GenerateError::MalformedResponse {
            unit_id: request.unit_id.clone(),
            url: self.endpoint.clone(),
            detail,
        };
        let choice = reply
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| malformed("the reply has no choices".to_string()))?;
        let content = choice.message.content.ok_or_else(|| {
            malformed(format!(
                "choice 0 has no message content (finish_reason {})",
                choice.finish_reason.as_deref().unwrap_or("missing")
            ))
        })?;
        let code = extract_code(&content, request.language);
        let usage = reply.usage.as_ref();
        let usage_in = usage.and_then(|u| u.prompt_tokens);
        let usage_out = usage.and_then(|u| u.completion_tokens);
        let tokens_in = usage_in.unwrap_or(estimated_in);
        let tokens_out = usage_out.unwrap_or_else(|| estimate_tokens(&content));
        let model = reply.model.unwrap_or_else(|| self.config.model.clone());
        Ok(GenerationResponse {
            cost_usd: pricing::cost_usd(&model, tokens_in, tokens_out),
            model,
            code,
            tokens_in,
            tokens_out,
            tokens_estimated: usage_in.is_none() || usage_out.is_none(),
            latency,
            provider_attempts: attempts,
            logprobs: choice.logprobs.and_then(|l| l.content),
            injected_faults: Vec::new(),
        })
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[async_trait::async_trait]
impl Generator for OpenAiGenerator {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn generate(
        &self,
        request: &GenerationRequest,
    ) -> Result<GenerationResponse, GenerateError> {
        let prompt = prompt::render(request);
        let body = ChatRequest {
            model: &self.config.model,
            messages: [
                Message {
                    role: "system",
                    content: &prompt.system,
                },
                Message {
                    role: "user",
                    content: &prompt.user,
                },
            ],
            temperature: request.temperature,
            max_tokens: self.config.max_tokens,
            logprobs: self.config.logprobs,
        };
        let budget = self.config.budget;
        let mut rng = SplitMix64::new(call_seed(0, &request.unit_id, request.attempt));
        let mut started: Option<Instant> = None;
        let mut attempts = 0u32;
        loop {
            let permit = self
                .permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let start = *started.get_or_insert_with(Instant::now);
            let remaining = budget.saturating_sub(start.elapsed());
            attempts += 1;
            let result = self
                .attempt(&body, self.config.request_timeout.min(remaining), request)
                .await;
            drop(permit);
            let failure = match result {
                Ok(reply) => {
                    return self.response(
                        reply,
                        request,
                        prompt.estimated_tokens(),
                        start.elapsed(),
                        attempts,
                    )
                }
                Err(failure) => failure,
            };
            if !failure.error.is_transient() {
                return Err(failure.error);
            }
            tracing::debug!(unit = %request.unit_id, attempt = attempts, error = %failure.error, "transient failure");
            if attempts >= self.config.max_attempts {
                return Err(GenerateError::AttemptsExhausted {
                    unit_id: request.unit_id.clone(),
                    attempts,
                    last: Box::new(failure.error),
                });
            }
            let wait = failure.retry_after.unwrap_or_else(|| {
                backoff(
                    attempts,
                    self.config.backoff_base,
                    self.config.backoff_max,
                    &mut rng,
                )
            });
            let elapsed = start.elapsed();
            if elapsed + wait >= budget {
                return Err(GenerateError::BudgetExhausted {
                    unit_id: request.unit_id.clone(),
                    attempts,
                    elapsed,
                    budget,
                    last: Box::new(failure.error),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}
