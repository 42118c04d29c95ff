-- +goose Up
-- Plans that do not depend on statistics, and a tally that reads days, not claims.
--
-- A claim's settlement is read by claim_id AND reverses IS NULL. With only the indexes of
-- 0001 an unanalyzed database may walk the unique index on reverses through every
-- settlement that is not a reversal (SQLite is never analyzed, PostgreSQL not until
-- autovacuum comes round). This partial index answers that predicate exactly, whatever
-- the statistics say.
CREATE UNIQUE INDEX settlements_claim_settled ON settlements (claim_id) WHERE reverses IS NULL;
-- A person-year's settlements in the order they were stored, for the ledger check.
CREATE INDEX settlements_person_year ON settlements (person_id, year, created_at);
-- A provider's claims of a day, for the console's discharge desk.
CREATE INDEX claims_provider_day ON claims (provider_id, discharged_on);

-- The settlements rows summed per discharge day (reversals count -1 and their amounts are
-- negative, as in settlements), kept up to date in each settlement's and reversal's
-- transaction: a tally reads one row per day of its period however many claims it has.
-- Migration 0007 (in Go: SQLite's TEXT money must be parsed to be added exactly) sums the
-- settlements already stored into it.
-- Amounts are counts of fen in BIGINT, in both databases: SQLite would add its TEXT money
-- as binary floats, and integers add exactly everywhere.
CREATE TABLE tally_days (
    discharged_on     TEXT PRIMARY KEY,
    claims            BIGINT NOT NULL,
    total_fen         BIGINT NOT NULL,
    basic_fen         BIGINT NOT NULL,
    critical_fen      BIGINT NOT NULL,
    commercial_fen    BIGINT NOT NULL,
    aid_fen           BIGINT NOT NULL,
    backstop_fen      BIGINT NOT NULL,
    out_of_pocket_fen BIGINT NOT NULL
);
