package store

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
		rec, err := settleRows(ctx, s, d.Claims.Claims[i])
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
			rev, err := reverseRows(ctx, s, first.ID, "test")
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
// does not apply, a chronic bill; in the version written now (testdata/workings3.golden)
// and in version 2 (testdata/workings.golden, as 0008 wrote them), and reads each back
// equal to calc's settlement. go test ./store -run TestWorkingsGolden -update rewrites
// them.
func TestWorkingsGolden(t *testing.T) {
	for _, tt := range []struct {
		file    string
		version int
		encode  func(*calc.Settlement, *calc.Ledger, bool) ([]byte, error)
	}{
		{"workings3.golden", 3, encodeWorkings},
		{"workings.golden", 2, encodeWorkings2},
	} {
		t.Run(tt.file, func(t *testing.T) {
			checkWorkingsGolden(t, tt.file, tt.version, tt.encode)
		})
	}
}

func checkWorkingsGolden(t *testing.T, file string, version int, encode func(*calc.Settlement, *calc.Ledger, bool) ([]byte, error)) {
	t.Helper()
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
		b, err := encode(st, &l, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"v":%d,`, version); !strings.HasPrefix(string(b), want) {
			t.Errorf("claim %s: workings %s do not begin with %s", st.ClaimID, b, want)
		}
		// Read back from the golden bytes, as a row holds them.
		k := keysOf(st, string(b), false)
		got, after, err := k.decode()
		if err != nil || got != *st || after != l {
			t.Errorf("claim %s: %s read back as\n%+v\n%+v, %v\nwant\n%+v\n%+v", st.ClaimID, b, got, after, err, *st, l)
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
	path := filepath.Join("testdata", file)
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

// keysOf is the row of settlement st (a reversal's if reversal) with detail, as the
// database returns it.
func keysOf(st *calc.Settlement, detail string, reversal bool) settlementKeys {
	sign := calc.Money(1)
	if reversal {
		sign = -1
	}
	k := settlementKeys{ClaimID: st.ClaimID, PersonID: st.PersonID, PolicyVersion: st.PolicyVersion, Year: st.Year,
		Kind: st.Kind.String(), Detail: detail,
		Total: dec(sign * st.Total), Basic: dec(sign * st.Lines[calc.Basic].Amount), Critical: dec(sign * st.Lines[calc.Critical].Amount),
		Commercial: dec(sign * st.Lines[calc.Commercial].Amount), Aid: dec(sign * st.Lines[calc.Aid].Amount),
		Backstop: dec(sign * st.Lines[calc.Backstop].Amount), OutOfPocket: dec(sign * st.OutOfPocket),
		Burden: dec(sign * st.Lines[calc.Critical].Base)}
	k.Reverses.Valid = reversal
	return k
}

// TestWorkingsV3Derived: what version 3 leaves out because it follows from what it keeps
// (the ledger before's total, the burden before the claim) is written when it does not
// follow, as a reversal's burden before does not, and read back as it was.
func TestWorkingsV3Derived(t *testing.T) {
	st := calc.Settlement{ClaimID: "C1", PersonID: "P1", PolicyVersion: "v", Year: 2018, Kind: calc.Inpatient,
		Level: calc.County, Total: 10000, InPolicy: 8000, BurdenBefore: 500, OutOfPocket: 10000}
	before := calc.Ledger{Year: 2018, Claims: 2, BasicInpatient: 300, CriticalBurden: 700, OutOfPocket: 1000, Total: 1300}
	for _, tt := range []struct {
		name     string
		before   calc.Ledger
		reversal bool
		has      []string
		hasNot   []string
	}{
		{"settlement", before, false, []string{`"bb":500`}, []string{`"t":`}},
		{"total not the sum", func() calc.Ledger { l := before; l.Total += 7; return l }(), false, []string{`"t":1307`}, nil},
		{"reversal", func() calc.Ledger { l := before; l.Claims, l.OutOfPocket, l.Total = 3, 11000, 11300; return l }(), true, []string{`"bb":500`}, []string{`"t":`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			after, err := tt.before.Add(&st)
			if tt.reversal {
				after, err = tt.before.Reverse(&st)
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := encodeWorkings(&st, &after, tt.reversal)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tt.has {
				if !strings.Contains(string(b), h) {
					t.Errorf("%s has no %s", b, h)
				}
			}
			for _, h := range tt.hasNot {
				if strings.Contains(string(b), h) {
					t.Errorf("%s has %s", b, h)
				}
			}
			k := keysOf(&st, string(b), tt.reversal)
			got, gotAfter, err := k.decode()
			if err != nil || got != st || gotAfter != after {
				t.Errorf("%s read back as\n%+v\n%+v, %v\nwant\n%+v\n%+v", b, got, gotAfter, err, st, after)
			}
		})
	}
	// A settlement whose burden before is its ledger's leaves it out.
	st.BurdenBefore = before.CriticalBurden
	after, _ := before.Add(&st)
	if b, _ := encodeWorkings(&st, &after, false); strings.Contains(string(b), `"bb"`) {
		t.Errorf("%s keeps the burden before, which the ledger before has", b)
	}
}

// TestConvertWorkings writes the shipped settlements in version 1, as the store did
// before 0008, or in version 2, as it did before 0010, reads them back as they are,
// converts them with 0010, and reads them back again: equal each time, and every row in
// the current version after.
func TestConvertWorkings(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := openRaw(t, kind)
			recs, d := settleShipped(t, s)
			rev, err := reverseRows(ctx, s, recs[replay.Order(d.Claims.Claims)[0]].ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rev)
			writeOldWorkings(t, s, recs)
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
			checkCurrentWorkings(t, s)
			checkReadBack(t, s, recs)
		})
	}
}

// writeOldWorkings rewrites the details of recs in the older versions, alternately 1 (as
// the store wrote them before 0008) and 2 (before 0010).
func writeOldWorkings(t *testing.T, s *Store, recs []SettlementRecord) {
	t.Helper()
	for i, rec := range recs {
		var (
			old []byte
			err error
		)
		if i%2 == 0 {
			old, err = json.Marshal(struct {
				Settlement calc.Settlement `json:"settlement"`
				Ledger     calc.Ledger     `json:"ledger_after"`
			}{rec.Settlement, rec.Ledger})
		} else {
			old, err = encodeWorkings2(&rec.Settlement, &rec.Ledger, rec.Reverses != "")
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(s.db.Rebind(`UPDATE settlements SET detail = ? WHERE settlement_id = ?`), string(old), rec.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// checkCurrentWorkings checks that every settlement's workings are of the current version.
func checkCurrentWorkings(t *testing.T, s *Store) {
	t.Helper()
	var old int
	if err := s.db.Get(&old, `SELECT COUNT(*) FROM settlements WHERE detail NOT LIKE '`+currentWorkings+`%'`); err != nil || old != 0 {
		t.Errorf("%d rows not in version %d after the conversion, %v", old, workingsVersion, err)
	}
}

// TestMigrateWorkingsV3 migrates a database of every migration but 0010, holding
// settlements with workings of version 2 and 1 and the index settlements_claim, and reads
// back the same settlements and ledgers; settlements_claim is gone.
func TestMigrateWorkingsV3(t *testing.T) {
	for _, kind := range testKinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := openRawWithout(t, kind, 10)
			if !s.indexExists(t, "settlements_claim") {
				t.Fatal("no settlements_claim before 0010")
			}
			recs, d := settleShipped(t, s)
			rev, err := reverseRows(ctx, s, recs[replay.Order(d.Claims.Claims)[0]].ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rev)
			writeOldWorkings(t, s, recs)
			if applied, err := s.Migrate(ctx); err != nil || !slices.Equal(applied, []string{"0010_workings_v3"}) {
				t.Fatalf("Migrate applied %v, %v; want 0010 alone", applied, err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			checkCurrentWorkings(t, s)
			checkReadBack(t, s, recs)
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
			if s.indexExists(t, "settlements_claim") {
				t.Error("settlements_claim is still there")
			}
		})
	}
}

// TestWorkingsRefused: details the store cannot read in full are errors, not zeros.
func TestWorkingsRefused(t *testing.T) {
	for _, detail := range []string{
		`{"v":4,"lv":"county"}`,
		`{"v":3,"level":"county"}`,
		`{"v":3,"lv":"county","cat":"none","lines":{}}`,
		`{"v":3,"lv":"county","cat":"none","sixth":{}}`,
		`{"v":3,"lv":"county","cat":"none","basic":{"base":1}}`,
		`{"v":3,"lv":"county","cat":"none","lb":{"n":1,"total":5}}`,
		`{"v":3,"lv":"county","cat":"none"} trailing`,
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
