package store

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
)

var updateWorkings = flag.Bool("update", false, "rewrite testdata/workings.golden")

// testKinds are the databases a test runs on; openRaw skips PostgreSQL, saying so, when
// HPCALC_TEST_DATABASE_URL is not set.
func testKinds() []string { return []string{"sqlite", "postgres"} }

// settleShipped settles every shipped claim in discharge order through Settle, checks
// each against the engine's replay, and returns the stored records by claim index.
func settleShipped(t *testing.T, s *Store) ([]SettlementRecord, *fixtures.Data) {
	t.Helper()
	ctx := context.Background()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var persons []calc.Person
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	var providers []calc.Provider
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	if err := s.UpsertPersons(ctx, persons); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProviders(ctx, providers); err != nil {
		t.Fatal(err)
	}
	want, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]SettlementRecord, len(d.Claims.Claims))
	for _, i := range replay.Order(d.Claims.Claims) {
		rec, _, err := s.Settle(ctx, d.Claims.Claims[i])
		if err != nil {
			t.Fatal(err)
		}
		if rec.Settlement != want.Settlements[i] {
			t.Fatalf("claim %s: settled %+v, replay %+v", d.Claims.Claims[i].ID, rec.Settlement, want.Settlements[i])
		}
		out[i] = rec
	}
	return out, d
}

// checkReadBack reads every record back and compares it with what was stored.
func checkReadBack(t *testing.T, s *Store, recs []SettlementRecord) {
	t.Helper()
	ctx := context.Background()
	for _, rec := range recs {
		got, err := s.Settlement(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Settlement != rec.Settlement || got.Ledger != rec.Ledger || got.Reverses != rec.Reverses {
			t.Fatalf("settlement %s of claim %s read back\n%+v\n%+v\nwant\n%+v\n%+v", rec.ID, rec.Settlement.ClaimID,
				got.Settlement, got.Ledger, rec.Settlement, rec.Ledger)
		}
	}
}

// TestWorkingsRoundTrip: every shipped claim's settlement, and a reversal, read back from
// the database equal to calc's settlement and the ledger after it, on both databases;
// and the ledgers recomputed from the stored workings are the kept ledgers.
func TestWorkingsRoundTrip(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := openRaw(t, kind)
			recs, d := settleShipped(t, s)
			first := recs[replay.Order(d.Claims.Claims)[0]]
			rev, err := s.Reverse(ctx, first.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			checkReadBack(t, s, append(recs, rev))
			for _, p := range d.Persons {
				kept, err := s.Ledger(ctx, p.ID, 2018)
				if err != nil {
					t.Fatal(err)
				}
				again, err := s.LedgerFromSettlements(ctx, p.ID, 2018)
				if err != nil || again != kept {
					t.Fatalf("person %s: ledger from the stored workings %+v, %v; kept %+v", p.ID, again, err, kept)
				}
			}
		})
	}
}

// TestWorkingsGolden pins the stored bytes of the workings of a few shipped claims that
// between them use every part of the form: each line, bands, a cap that cut, a line that
// does not apply, a chronic bill. go test ./store -run TestWorkingsGolden -update
// rewrites testdata/workings.golden.
func TestWorkingsGolden(t *testing.T) {
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var (
		buf    bytes.Buffer
		ledger = map[string]calc.Ledger{}
		taken  = map[string]bool{}
		n      int
	)
	err = replay.Each(d.Policies, d.Persons, d.Claims.Claims, func(i int, st *calc.Settlement) {
		l := ledger[st.PersonID]
		l, _ = l.Add(st)
		ledger[st.PersonID] = l
		var why []string
		if n < 3 {
			why = append(why, "first")
		}
		if st.NumBands > 0 && !taken["bands"] {
			why = append(why, "bands")
		}
		if st.Kind == calc.OutpatientChronic && !taken["chronic"] {
			why = append(why, "chronic")
		}
		for _, ln := range calc.Lines() {
			if st.Lines[ln].Capped() && !taken["capped"] {
				why = append(why, "capped")
				break
			}
		}
		for _, ln := range calc.Lines() {
			if !st.Lines[ln].Applies && !taken["not applies"] {
				why = append(why, "not applies")
				break
			}
		}
		n++
		if len(why) == 0 {
			return
		}
		for _, w := range why {
			taken[w] = true
		}
		b, err := encodeWorkings(st, &l, false)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&buf, "# %s (%s)\n%s\n", st.ClaimID, strings.Join(why, ", "), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"bands", "chronic", "not applies"} {
		if !taken[w] {
			t.Errorf("no shipped claim shows %s", w)
		}
	}
	path := filepath.Join("testdata", "workings.golden")
	if *updateWorkings {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("stored workings differ from %s (go test ./store -run TestWorkingsGolden -update):\n%s", path, buf.String())
	}
}

// TestConvertWorkings writes the shipped settlements in version 1, as the store did
// before 0008, reads them back as they are, converts them with 0008, and reads them back
// again: equal each time, and every row in version 2 after.
func TestConvertWorkings(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := openRaw(t, kind)
			recs, d := settleShipped(t, s)
			rev, err := s.Reverse(ctx, recs[replay.Order(d.Claims.Claims)[0]].ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rev)
			for _, rec := range recs {
				v1, err := json.Marshal(struct {
					Settlement calc.Settlement `json:"settlement"`
					Ledger     calc.Ledger     `json:"ledger_after"`
				}{rec.Settlement, rec.Ledger})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.db.Exec(s.db.Rebind(`UPDATE settlements SET detail = ? WHERE settlement_id = ?`), string(v1), rec.ID); err != nil {
					t.Fatal(err)
				}
			}
			checkReadBack(t, s, recs)
			tx, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := convertWorkings(ctx, s, tx); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var old int
			if err := s.db.Get(&old, `SELECT COUNT(*) FROM settlements WHERE detail NOT LIKE '{"v":2,%'`); err != nil || old != 0 {
				t.Errorf("%d rows not in version 2 after the conversion, %v", old, err)
			}
			checkReadBack(t, s, recs)
		})
	}
}

// TestWorkingsRefused: details the store cannot read in full are errors, not zeros.
func TestWorkingsRefused(t *testing.T) {
	for _, detail := range []string{
		`{"v":3,"level":"county"}`,
		`{"v":2,"level":"county","aid":"none","mystery":1}`,
		`{"v":2,"level":"castle","aid":"none"}`,
		`{"v":2,"level":"county","aid":"none","lines":{"sixth":{}}}`,
		`not json`,
	} {
		k := settlementKeys{ClaimID: "C1", PersonID: "P1", PolicyVersion: "v", Year: 2018, Kind: "inpatient", Detail: detail}
		if _, _, err := k.decode(); err == nil {
			t.Errorf("%s read without error", detail)
		}
	}
}
