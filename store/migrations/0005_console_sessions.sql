-- +goose Up
-- Sessions of the browser console. A user signs in with an API token, and the session keeps
-- only the SHA-256 of its cookie and the hash of the token it stands for, so that a
-- revoked token ends its sessions at once. csrf is the token every form of the session
-- carries.
CREATE TABLE console_sessions (
    session_hash TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_hash);
