-- +goose Up
-- Tokens can be revoked: a revoked token stays on file, with when it was revoked, and
-- authenticates no more.
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
