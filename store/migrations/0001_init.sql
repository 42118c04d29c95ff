-- +goose Up
-- The schema of hpcalc. {{money}} is NUMERIC(14,2) in PostgreSQL and TEXT in SQLite, where
-- a NUMERIC column would turn "1234.50" into a binary float. Dates are ISO 8601 text.
-- Every table a settlement touches carries a person_id column, but the keys of claims and
-- settlements do not include it (the ledgers' key does), and 0008 decides to keep it so,
-- see docs/storage.md.

CREATE TABLE policies (
    version        TEXT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    effective_to   TEXT NOT NULL,
    document       TEXT NOT NULL,
    published_at   TEXT NOT NULL
);

CREATE TABLE persons (
    person_id       TEXT PRIMARY KEY,
    household_id    TEXT NOT NULL,
    registered_poor BOOLEAN NOT NULL,
    aid_category    TEXT NOT NULL
);

CREATE TABLE providers (
    provider_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL
);

CREATE TABLE claims (
    person_id     TEXT NOT NULL,
    claim_id      TEXT NOT NULL,
    provider_id   TEXT NOT NULL,
    level         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    admitted_on   TEXT NOT NULL,
    discharged_on TEXT NOT NULL,
    total         {{money}} NOT NULL,
    in_policy     {{money}} NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (claim_id)
);

CREATE TABLE settlements (
    person_id      TEXT NOT NULL,
    settlement_id  TEXT NOT NULL,
    claim_id       TEXT NOT NULL,
    reverses       TEXT UNIQUE,
    year           INTEGER NOT NULL,
    discharged_on  TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    kind           TEXT NOT NULL,
    total          {{money}} NOT NULL,
    basic          {{money}} NOT NULL,
    critical       {{money}} NOT NULL,
    commercial     {{money}} NOT NULL,
    aid            {{money}} NOT NULL,
    backstop       {{money}} NOT NULL,
    out_of_pocket  {{money}} NOT NULL,
    burden         {{money}} NOT NULL,
    detail         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (settlement_id)
);
CREATE INDEX settlements_claim ON settlements (claim_id);
CREATE INDEX settlements_discharged ON settlements (discharged_on);

CREATE TABLE ledgers (
    person_id       TEXT NOT NULL,
    year            INTEGER NOT NULL,
    claims          INTEGER NOT NULL,
    basic_inpatient {{money}} NOT NULL,
    basic_chronic   {{money}} NOT NULL,
    critical_burden {{money}} NOT NULL,
    critical_paid   {{money}} NOT NULL,
    commercial_paid {{money}} NOT NULL,
    aid_paid        {{money}} NOT NULL,
    backstop_paid   {{money}} NOT NULL,
    out_of_pocket   {{money}} NOT NULL,
    total           {{money}} NOT NULL,
    PRIMARY KEY (person_id, year)
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    providers  TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
