-- Bearer tokens of the HTTP API. Only the SHA-256 of a token is stored.
CREATE TABLE api_tokens (
    token_hash  VARCHAR(64) PRIMARY KEY,
    user_id     VARCHAR(100) NOT NULL,
    is_admin    INTEGER NOT NULL,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_api_tokens_user ON api_tokens (user_id);
