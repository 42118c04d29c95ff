-- +goose Up
-- The tally's sums per discharge day, split into buckets: a settlement adds to the row of
-- its day and of its person's bucket (store.tallyBucket, a hash of the person id), so that
-- two settlements of one day by persons of other buckets never wait for each other's row
-- lock; a person's own settlements already wait for each other at the ledger. A tally adds
-- up the buckets of each day of its period: at most tallyBuckets (16) rows a day, however
-- many claims it has. SQLite, whose writers take turns for the whole database, keeps
-- every day in bucket 0.
--
-- The sums tally_days held go to bucket 0: a bucket is only where concurrent writers add,
-- a day's sum is the sum of its buckets whichever bucket holds what.
CREATE TABLE tally_buckets (
    discharged_on     TEXT NOT NULL,
    bucket            INTEGER NOT NULL,
    claims            BIGINT NOT NULL,
    total_fen         BIGINT NOT NULL,
    basic_fen         BIGINT NOT NULL,
    critical_fen      BIGINT NOT NULL,
    commercial_fen    BIGINT NOT NULL,
    aid_fen           BIGINT NOT NULL,
    backstop_fen      BIGINT NOT NULL,
    out_of_pocket_fen BIGINT NOT NULL,
    PRIMARY KEY (discharged_on, bucket)
);
INSERT INTO tally_buckets (discharged_on, bucket, claims, total_fen, basic_fen, critical_fen, commercial_fen, aid_fen,
    backstop_fen, out_of_pocket_fen)
    SELECT discharged_on, 0, claims, total_fen, basic_fen, critical_fen, commercial_fen, aid_fen, backstop_fen, out_of_pocket_fen
    FROM tally_days;
DROP TABLE tally_days;

-- A reversal's adjustments are read by cause_id (reading a reversal, or a settlement that
-- was reversed, and the reconciliation's list): without an index every read scanned all
-- adjustments, which grow with every reversal and reconciliation (TestHotQueryPlans).
CREATE INDEX adjustments_cause ON adjustments (cause_id);
