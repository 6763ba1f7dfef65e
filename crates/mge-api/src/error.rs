//! The one error type of the API and its JSON shape: `{"error":{"code","message","details"}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Every failure a handler can answer with; each maps to one status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or malformed bearer token")]
    Unauthenticated,
    #[error("this endpoint needs an admin token")]
    Forbidden,
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{message}")]
    BadRequest { message: String, details: Value },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    Unprocessable { message: String, details: Value },
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> ApiError {
        ApiError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn bad_request(message: impl Into<String>, details: Value) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            details,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        match self {
            ApiError::BadRequest { details, .. } | ApiError::Unprocessable { details, .. } => {
                details.clone()
            }
            ApiError::NotFound { entity, id } => json!({ "entity": entity, "id": id }),
            ApiError::TooLarge { limit } => json!({ "limit_bytes": limit }),
            _ => Value::Null,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            tracing::error!("{message}");
        }
        let body = json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": self.details() }
        });
        (self.status(), axum::Json(body)).into_response()
    }
}

impl From<mge_store::StoreError> for ApiError {
    fn from(e: mge_store::StoreError) -> ApiError {
        match e {
            mge_store::StoreError::NotFound { entity, id } => ApiError::NotFound { entity, id },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<mge_engine::EngineError> for ApiError {
    fn from(e: mge_engine::EngineError) -> ApiError {
        match e {
            mge_engine::EngineError::Store(s) => s.into(),
            mge_engine::EngineError::Plan { .. } => ApiError::Conflict {
                message: e.to_string(),
            },
            mge_engine::EngineError::Review { atom, .. } => ApiError::Unprocessable {
                message: e.to_string(),
                details: json!({ "atom_id": atom }),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge {
                limit: crate::BODY_LIMIT,
            };
        }
        ApiError::bad_request(
            format!("request body: {}", e.body_text()),
            json!({ "location": "body" }),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::bad_request(
            format!("path parameter: {}", e.body_text()),
            json!({ "location": "path" }),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::bad_request(
            format!("query string: {}", e.body_text()),
            json!({ "location": "query" }),
        )
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The JSON shape of every error (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable word: `bad_request`, `not_found`, `unauthenticated`, ...
    pub code: String,
    /// What failed and where.
    pub message: String,
    /// Location, field or entity concerned.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<mge_engine::modes::ModeError> for ApiError {
    fn from(e: mge_engine::modes::ModeError) -> ApiError {
        match e {
            mge_engine::modes::ModeError::Store(s) => s.into(),
            mge_engine::modes::ModeError::Flag(f) => ApiError::bad_request(
                format!("flag: {f}"),
                json!({ "location": "body", "field": "name" }),
            ),
        }
    }
}
