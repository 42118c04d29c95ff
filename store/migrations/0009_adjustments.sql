-- +goose Up
-- Adjustments (POLICY.md "Corrections"): when a reversal or a reconciliation re-settles a
-- person-year, each settled claim whose amounts change gets a row here, append-only, with
-- the difference per line and for the patient, and the change of its slice of the
-- critical-illness burden. Settlements are never edited. cause is "reversal" (cause_id the
-- reversal's id) or "out_of_order" (cause_id the reconciliation's id). correction is the
-- part of backstop that pays a rise of the patient's share. out_of_pocket is never above
-- zero, and below zero it is a refund owed to the patient.
CREATE TABLE adjustments (
    person_id      TEXT NOT NULL,
    adjustment_id  TEXT NOT NULL,
    settlement_id  TEXT NOT NULL,
    claim_id       TEXT NOT NULL,
    year           INTEGER NOT NULL,
    discharged_on  TEXT NOT NULL,
    kind           TEXT NOT NULL,
    cause          TEXT NOT NULL,
    cause_id       TEXT NOT NULL,
    basic          {{money}} NOT NULL,
    critical       {{money}} NOT NULL,
    commercial     {{money}} NOT NULL,
    aid            {{money}} NOT NULL,
    backstop       {{money}} NOT NULL,
    out_of_pocket  {{money}} NOT NULL,
    burden         {{money}} NOT NULL,
    correction     {{money}} NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (adjustment_id)
);
CREATE INDEX adjustments_person_year ON adjustments (person_id, year);
CREATE INDEX adjustments_settlement ON adjustments (settlement_id);
CREATE INDEX adjustments_discharged ON adjustments (discharged_on);
