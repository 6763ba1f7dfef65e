use std::time::Duration;

/// Why a generation failed.
///
/// Transient failures (rate limits, 5xx, timeouts, connection errors) are retried by the HTTP
/// provider itself; when its attempts or its wall-clock budget run out it returns
/// [`GenerateError::AttemptsExhausted`] or [`GenerateError::BudgetExhausted`] wrapping the last
/// transient failure. Permanent failures are returned at once.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    // ---- transient ----
    #[error("unit {unit_id}: POST {url} timed out after {after:?}")]
    Timeout {
        unit_id: String,
        url: String,
        after: Duration,
    },
    #[error("unit {unit_id}: POST {url} failed to connect or transfer: {message}")]
    Connection {
        unit_id: String,
        url: String,
        message: String,
    },
    #[error("unit {unit_id}: POST {url} was rate limited (HTTP 429{}): {message}", retry_after.map(|d| format!(", Retry-After {d:?}")).unwrap_or_default())]
    RateLimited {
        unit_id: String,
        url: String,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("unit {unit_id}: POST {url} answered HTTP {status} (server error): {message}")]
    Server {
        unit_id: String,
        url: String,
        status: u16,
        message: String,
    },

    // ---- permanent ----
    #[error("unit {unit_id}: POST {url} answered insufficient_quota (HTTP {status}): {message}")]
    InsufficientQuota {
        unit_id: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("unit {unit_id}: POST {url} rejected the request (HTTP {status}): {message}")]
    Rejected {
        unit_id: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("unit {unit_id}: malformed reply from POST {url}: {detail}")]
    MalformedResponse {
        unit_id: String,
        url: String,
        detail: String,
    },
    #[error("unit {unit_id}: the simulated provider needs the unit's reference code (`expected` is empty)")]
    MissingExpected { unit_id: String },
    #[error("generator configuration: {field}: {message}")]
    Config {
        field: &'static str,
        message: String,
    },

    // ---- retries given up ----
    #[error("unit {unit_id}: gave up after {attempts} attempt(s); last error: {last}")]
    AttemptsExhausted {
        unit_id: String,
        attempts: u32,
        last: Box<GenerateError>,
    },
    #[error("unit {unit_id}: wall-clock budget of {budget:?} exhausted after {attempts} attempt(s) ({elapsed:?}); last error: {last}")]
    BudgetExhausted {
        unit_id: String,
        attempts: u32,
        elapsed: Duration,
        budget: Duration,
        last: Box<GenerateError>,
    },
}

impl GenerateError {
    /// True for failures that may succeed when tried again: rate limits, server errors, timeouts,
    /// connection errors, and the give-up wrappers around them (a later run may succeed).
    pub fn is_transient(&self) -> bool {
        match self {
            GenerateError::Timeout { .. }
            | GenerateError::Connection { .. }
            | GenerateError::RateLimited { .. }
            | GenerateError::Server { .. } => true,
            GenerateError::AttemptsExhausted { last, .. }
            | GenerateError::BudgetExhausted { last, .. } => last.is_transient(),
            GenerateError::InsufficientQuota { .. }
            | GenerateError::Rejected { .. }
            | GenerateError::MalformedResponse { .. }
            | GenerateError::MissingExpected { .. }
            | GenerateError::Config { .. } => false,
        }
    }

    /// The opposite of [`GenerateError::is_transient`].
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// A short, stable name of the failure kind (for persisted error types and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            GenerateError::Timeout { .. } => "timeout",
            GenerateError::Connection { .. } => "connection",
            GenerateError::RateLimited { .. } => "rate_limited",
            GenerateError::Server { .. } => "server_error",
            GenerateError::InsufficientQuota { .. } => "insufficient_quota",
            GenerateError::Rejected { .. } => "rejected",
            GenerateError::MalformedResponse { .. } => "malformed_response",
            GenerateError::MissingExpected { .. } => "missing_expected",
            GenerateError::Config { .. } => "config",
            GenerateError::AttemptsExhausted { .. } => "attempts_exhausted",
            GenerateError::BudgetExhausted { .. } => "budget_exhausted",
        }
    }
}
