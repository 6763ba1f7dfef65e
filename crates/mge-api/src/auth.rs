//! Bearer tokens: `mge token create` makes one, the store keeps only its SHA-256, and every API
//! request names its user through the [`User`] extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use mge_store::{Store, TokenOwner};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// Prefix of every token, so a leaked one is recognizable.
pub const TOKEN_PREFIX: &str = "mge_";

/// Hex SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a token for `user` (256 random bits from two v4 UUIDs), stores its hash and returns
/// the token, which is shown once and never stored.
pub async fn create_token(store: &dyn Store, user: &str, admin: bool) -> Result<String, ApiError> {
    let user = user.trim();
    if user.is_empty() || user.len() > 100 {
        return Err(ApiError::bad_request(
            "user: expected 1 to 100 characters",
            serde_json::json!({ "field": "user" }),
        ));
    }
    let token = format!(
        "{TOKEN_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    store
        .insert_api_token(
            &hash_token(&token),
            &TokenOwner {
                user_id: user.to_string(),
                is_admin: admin,
            },
        )
        .await?;
    Ok(token)
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct User(pub TokenOwner);

impl User {
    pub fn id(&self) -> &str {
        &self.0.user_id
    }

    /// Fails with 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.is_admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Whether the caller may see a resource of `owner` (admins see everything).
    pub fn may_see(&self, owner: &str) -> bool {
        self.0.is_admin || self.0.user_id == owner
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<User, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match header.and_then(|h| h.strip_prefix("Bearer ")) {
            Some(t) if !t.trim().is_empty() => t.trim(),
            _ => {
                // Browsers cannot set headers on a WebSocket: accept `?token=` there.
                let query = parts.uri.query().unwrap_or("");
                match query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("token="))
                    .filter(|t| !t.is_empty())
                {
                    Some(t) => t,
                    None => return Err(ApiError::Unauthenticated),
                }
            }
        };
        let hash = hash_token(token);
        if let Some(owner) = state.tokens.get(&hash) {
            return Ok(User(owner));
        }
        match state.store.find_api_token(&hash).await? {
            Some(owner) => {
                state.tokens.put(hash, owner.clone());
                Ok(User(owner))
            }
            None => Err(ApiError::Unauthenticated),
        }
    }
}
