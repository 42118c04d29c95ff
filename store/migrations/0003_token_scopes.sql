-- +goose Up
-- A clinic token's providers are rows of their own, one per provider, rather than one
-- comma-joined text: a provider id can then never be read as two. The scopes of the
-- tokens on file are carried over as they were read until now, split at each comma, and
-- the old column is dropped. The split walks each list a character at a time, in SQL
-- that PostgreSQL and SQLite share (neither has the other's string-splitting functions).

CREATE TABLE api_token_providers (
    token_hash  TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    position    INTEGER NOT NULL, -- the providers of a token in the order they were given
    PRIMARY KEY (token_hash, provider_id)
);

INSERT INTO api_token_providers (token_hash, provider_id, position)
WITH RECURSIVE split (token_hash, item, rest, done, position) AS (
    SELECT token_hash, CAST('' AS TEXT), providers || ',', CAST(NULL AS TEXT), 0
    FROM api_tokens WHERE providers <> ''
    UNION ALL
    SELECT token_hash,
        CASE WHEN substr(rest, 1, 1) = ',' THEN CAST('' AS TEXT) ELSE item || substr(rest, 1, 1) END,
        substr(rest, 2),
        CASE WHEN substr(rest, 1, 1) = ',' THEN item ELSE CAST(NULL AS TEXT) END,
        CASE WHEN substr(rest, 1, 1) = ',' THEN position + 1 ELSE position END
    FROM split WHERE rest <> ''
)
SELECT token_hash, done, MIN(position) FROM split WHERE done IS NOT NULL AND done <> ''
GROUP BY token_hash, done;

ALTER TABLE api_tokens DROP COLUMN providers;

-- Authenticate counts the revoked tokens a few times a second.
CREATE INDEX api_tokens_revoked ON api_tokens (revoked_at);
