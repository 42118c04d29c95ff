-- +goose Up
-- Settlements imported from the system before hpcalc (hpcalc import, POST /v1/imports):
-- the amounts it actually paid, booked into the person-year ledgers so that claims settled
-- live afterwards continue the year. imported marks such rows, and a reversal of one, whose
-- workings are amounts paid rather than the cascade's. Rows stored before hold false.
ALTER TABLE settlements ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE;
