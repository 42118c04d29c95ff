-- +goose Up
-- Persons as they were (issue 13): the register changes all year, and a claim is settled,
-- replayed and audited with the attributes in force on its discharge day. Each upsert
-- records a new version, numbered per person in the order recorded, holding from
-- valid_from to valid_to inclusive (ISO dates; 0001-01-01 and 9999-12-31 for no start
-- and no end). Versions are never edited: a later version overrides the earlier ones on
-- the days it holds. persons keeps the id and, for listing, the attributes in force on
-- the last day of the timeline and their version. Every person on file becomes one
-- version, holding always.
CREATE TABLE person_versions (
    person_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    valid_from      TEXT NOT NULL,
    valid_to        TEXT NOT NULL,
    household_id    TEXT NOT NULL,
    registered_poor BOOLEAN NOT NULL,
    aid_category    TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    PRIMARY KEY (person_id, version)
);
INSERT INTO person_versions (person_id, version, valid_from, valid_to, household_id, registered_poor, aid_category, recorded_at)
    SELECT person_id, 1, '0001-01-01', '9999-12-31', household_id, registered_poor, aid_category, '' FROM persons;
ALTER TABLE persons ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- The version a settlement used; 0 for settlements stored before versions were kept.
ALTER TABLE settlements ADD COLUMN person_version INTEGER NOT NULL DEFAULT 0;
