package store

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/replay"
)

// TestStampRoundTrip: a stamp reads back as the same instant in UTC, formatted as a text
// stamp of before 0011 was read.
func TestStampRoundTrip(t *testing.T) {
	for _, s := range []string{"2018-03-07T08:00:05Z", "2018-03-07T08:00:05.1Z", "2026-12-01T02:52:01.899421541Z", "1970-01-01T00:00:00.000000001Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got := stampTime(stamp(want))
		if !reflect.DeepEqual(got, want) || got.Format(time.RFC3339Nano) != s {
			t.Errorf("%s read back as %v (%s)", s, got, got.Format(time.RFC3339Nano))
		}
	}
}

// TestMigrateIntegerStamps copies the rows of a store (shipped claims settled, some
// reversed, with adjustments booked to later claims) into a database of every
// migration but 0011, writing their stamps as text as the store did before 0011 (nine
// decimals, or as few as RFC3339Nano writes, none for a whole second), migrates it, and
// reads back the same settlements, adjustments, claims, ledgers, desk and audit rows.
// The stamps are integers after, and a settlement can still be reversed once only.
func TestMigrateIntegerStamps(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ref := openRaw(t, kind)
			base, n := time.Date(2026, 11, 30, 8, 0, 5, 0, time.UTC), 0
			fractions := []time.Duration{0, 100 * time.Millisecond, 123456789, 1}
			ref.Now = func() time.Time {
				n++
				return base.Add(time.Duration(n)*time.Second + fractions[n%len(fractions)])
			}
			recs, d := settleShipped(t, ref)
			order := replay.Order(d.Claims.Claims)
			// Reverse a person's first claim and book an adjustment to their next, as a
			// reversal that re-settles the later claims does (ops decides the amounts; the
			// rows are what this test is about).
			for k := 0; k+1 < len(order) && k < 200; k++ {
				first, next := recs[order[k]], recs[order[k+1]]
				if first.Settlement.PersonID != next.Settlement.PersonID || first.Settlement.Year != next.Settlement.Year {
					continue
				}
				rev, err := reverseRows(ctx, ref, first.ID, "test")
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, rev)
				claim := d.Claims.Claims[order[k+1]]
				err = ref.InPersonYear(ctx, claim.PersonID, claim.DischargedOn.Year(), func(tx *PersonYearTx) error {
					return tx.InsertAdjustments(Adjusted{ID: NewID("A"), SettlementID: next.ID, Cause: CauseReversal, CauseID: rev.ID,
						DischargedOn: claim.DischargedOn, CreatedAt: tx.Now(), Adjustment: calc.Adjustment{ClaimID: claim.ID,
							PersonID: claim.PersonID, Year: claim.DischargedOn.Year(), Kind: claim.Kind,
							Lines: [calc.NumLines]calc.Money{calc.Backstop: 1}, OutOfPocket: -1}})
				})
				if err != nil {
					t.Fatal(err)
				}
				k++
			}
			var adjustments int
			if err := ref.db.Get(&adjustments, `SELECT COUNT(*) FROM adjustments`); err != nil || adjustments < 2 {
				t.Fatalf("%d adjustments booked, %v: the test needs some", adjustments, err)
			}

			old := openRawWithout(t, kind, 11)
			copyTables(t, ref, old)
			if applied, err := old.Migrate(ctx); err != nil || !slices.Equal(applied, []string{"0011_integer_stamps"}) {
				t.Fatalf("Migrate applied %v, %v; want 0011 alone", applied, err)
			}

			for _, rec := range recs {
				want, err := ref.Settlement(ctx, rec.ID)
				if err != nil {
					t.Fatal(err)
				}
				got, err := old.Settlement(ctx, rec.ID)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("settlement %s after 0011:\n%+v, %v\nwant\n%+v", rec.ID, got, err, want)
				}
				if rec.Reverses != "" {
					continue
				}
				wantClaim, _ := ref.Claim(ctx, rec.Settlement.ClaimID)
				if got, err := old.Claim(ctx, rec.Settlement.ClaimID); err != nil || got != wantClaim {
					t.Fatalf("claim %s after 0011: %+v, %v; want %+v", rec.Settlement.ClaimID, got, err, wantClaim)
				}
			}
			for _, p := range d.Persons {
				want, err := ref.LedgerFromSettlements(ctx, p.ID, 2018)
				if err != nil {
					t.Fatal(err)
				}
				got, err := old.LedgerFromSettlements(ctx, p.ID, 2018)
				if err != nil || got != want {
					t.Fatalf("person %s: ledger from the settlements after 0011 %+v, %v; want %+v", p.ID, got, err, want)
				}
			}
			from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)
			want, err := ref.LoadStoredClaims(ctx, from, to, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := old.LoadStoredClaims(ctx, from, to, 0, nil)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("stored claims after 0011 differ (%d, %v; want %d)", len(got), err, len(want))
			}
			first := d.Claims.Claims[order[0]]
			wantDay, _ := ref.ProviderDay(ctx, first.ProviderID, first.DischargedOn)
			if gotDay, err := old.ProviderDay(ctx, first.ProviderID, first.DischargedOn); err != nil || len(gotDay) == 0 || !reflect.DeepEqual(gotDay, wantDay) {
				t.Errorf("provider day after 0011: %+v, %v; want %+v", gotDay, err, wantDay)
			}

			for _, c := range textStamps {
				var notInt int
				q := `SELECT COUNT(*) FROM ` + c.table + ` WHERE typeof(` + c.column + `) <> 'integer'`
				if kind == "postgres" {
					q = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()
						AND table_name = '` + c.table + `' AND column_name = '` + c.column + `' AND data_type <> 'bigint'`
				}
				if err := old.db.Get(&notInt, q); err != nil || notInt != 0 {
					t.Errorf("%s.%s: %d not integers, %v", c.table, c.column, notInt, err)
				}
			}
			var reversals []string
			if err := old.db.Select(&reversals, `SELECT settlement_id FROM settlements WHERE reverses IS NOT NULL ORDER BY settlement_id LIMIT 2`); err != nil || len(reversals) < 2 {
				t.Fatalf("reversals %v, %v", reversals, err)
			}
			if _, err := old.db.Exec(old.db.Rebind(`UPDATE settlements SET reverses = (SELECT reverses FROM settlements WHERE settlement_id = ?) WHERE settlement_id = ?`),
				reversals[0], reversals[1]); err == nil {
				t.Error("two reversals of one settlement stored after 0011")
			}
		})
	}
}

// TestMigrateIntegerStampsRefuses: a text stamp of another form than the store wrote is
// refused, named, and nothing is converted.
func TestMigrateIntegerStampsRefuses(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			old := openRawWithout(t, kind, 11)
			for i, bad := range []string{"2018-03-07 08:00:05Z", "2018-03-07T08:00:05.1234567890Z", "2018-03-07T08:00:05+08:00", "2018-03-07T08:00:05.Z"} {
				old.db.MustExec(old.db.Rebind(`DELETE FROM claims`))
				old.db.MustExec(old.db.Rebind(`INSERT INTO claims (person_id, claim_id, provider_id, level, kind, admitted_on, discharged_on, total, in_policy, received_at)
					VALUES ('P1', ?, 'TWN01', 'township', 'inpatient', '2018-03-01', '2018-03-07', '100', '90', ?)`), "C"+string(rune('0'+i)), bad)
				_, err := old.Migrate(ctx)
				if err == nil || !strings.Contains(err.Error(), bad) {
					t.Errorf("stamp %q: Migrate %v; want a refusal naming it", bad, err)
				}
				var left string
				if err := old.db.Get(&left, `SELECT received_at FROM claims`); err != nil || left != bad {
					t.Errorf("stamp %q after the refusal: %q, %v", bad, left, err)
				}
			}
		})
	}
}

// copyTables copies every row of every table of from that is empty in to, with the
// stamps of textStamps written as text as the store wrote them before 0011: alternately
// with nine decimals and with as few as RFC3339Nano writes.
func copyTables(t *testing.T, from, to *Store) {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`
	if from.dialect.name == "postgres" {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`
	}
	var tables []string
	if err := from.db.Select(&tables, q); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int
		if err := to.db.Get(&n, `SELECT COUNT(*) FROM `+table); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n > 0 {
			continue
		}
		rows, err := from.db.Queryx(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		insert := to.db.Rebind(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`)
		var all [][]any
		for i := 0; rows.Next(); i++ {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for j, c := range cols {
				if b, ok := vals[j].([]byte); ok {
					vals[j] = string(b)
				}
				for _, s := range textStamps {
					if s.table == table && s.column == c {
						at := stampTime(vals[j].(int64))
						if i%2 == 0 {
							vals[j] = at.Format(stampLayout)
						} else {
							vals[j] = at.Format(time.RFC3339Nano)
						}
					}
				}
			}
			all = append(all, vals)
		}
		rows.Close()
		for _, vals := range all {
			to.db.MustExec(insert, vals...)
		}
	}
}
