-- Bearer tokens of the HTTP API. Only the SHA-256 of a token is stored.
CREATE TABLE api_tokens (
    token_hash  VARCHAR(64) PRIMARY KEY,
    user_id     VARCHAR(100) NOT NULL,
    is_admin    BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX idx_api_tokens_user ON api_tokens (user_id);
