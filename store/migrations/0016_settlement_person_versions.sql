-- +goose Up
-- Settlements stored before 0013 say person_version 0: no version was kept then. Each is
-- given the version in force on its discharge day as the register stood when it was
-- settled: the last recorded of the versions 0013 made (recorded_at empty) that holds on
-- that day. Every such settlement was stored before 0013 ran, and so before every version
-- an upsert or import recorded since (recorded_at set): the settlement cannot have used
-- one of those, and naming one would hide from the audit a register change made after
-- settlement (batch.CauseRegister compares the version settled with the one in force
-- now). When none of 0013's versions holds on the day, the person's earliest version.
-- Reversals carry the version of what they reverse, which has the same discharge day.
-- Rows of a person with no version at all keep 0.
UPDATE settlements SET person_version = COALESCE(
    (SELECT MAX(v.version) FROM person_versions v
        WHERE v.person_id = settlements.person_id AND v.recorded_at = ''
        AND v.valid_from <= settlements.discharged_on AND settlements.discharged_on <= v.valid_to),
    (SELECT MIN(v.version) FROM person_versions v WHERE v.person_id = settlements.person_id),
    0)
WHERE person_version = 0;
