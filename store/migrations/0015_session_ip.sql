-- +goose Up
-- The address a console session was opened from, shown on the user's list of their
-- sessions beside the browser (user_agent): the client's, or behind a trusted proxy the
-- one it forwarded. Sessions opened before this have none.
ALTER TABLE console_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';

