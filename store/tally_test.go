package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// checkTallies compares Tally, which reads the per-day sums, with the sum in Go of every
// settlements row, over the whole year and random periods.
func checkTallies(t *testing.T, s *store.Store, r *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	periods := [][2]calc.Date{{calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)}, {calc.NewDate(2017, 1, 1), calc.NewDate(2017, 12, 31)}}
	for range 30 {
		from := calc.NewDate(2018, 1, 1) + calc.Date(r.IntN(365))
		periods = append(periods, [2]calc.Date{from, from + calc.Date(r.IntN(60))})
	}
	for _, p := range periods {
		got, err := s.Tally(ctx, p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.TallyFromSettlements(ctx, p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("tally %s to %s: %+v; the settlements rows add up to %+v", p[0], p[1], got, want)
		}
	}
}

// TestTallyEqualsSettlementsSum settles the shipped claims in a random order, reverses a
// random seventh of them, and checks the tally against the settlements rows after each
// step and after the per-day sums are rebuilt from the rows (the migration's way).
func TestTallyEqualsSettlementsSum(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(12, 2018))
		d := loadShipped(t, s)
		claims := d.Claims.Claims
		var settled []store.SettlementRecord
		for step, i := range r.Perm(len(claims)) {
			st, _, err := ops.New(s).Settle(ctx, claims[i])
			if err != nil {
				t.Fatal(err)
			}
			settled = append(settled, st)
			if r.IntN(7) == 0 {
				victim := settled[r.IntN(len(settled))]
				if _, err := ops.New(s).Reverse(ctx, victim.ID, "tally test"); err != nil && !errorsIsConflict(err) {
					t.Fatal(err)
				}
			}
			if step%100 == 0 {
				checkTallies(t, s, r)
			}
		}
		checkTallies(t, s, r)
		whole, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		if whole.Claims == len(claims) || whole.Claims == 0 {
			t.Fatalf("%d standing claims of %d: the test reversed none or all", whole.Claims, len(claims))
		}
		// One writer at a time always finds bucket 0 free: one row a day.
		if rows, days, err := s.TallyRows(ctx); err != nil || rows != days {
			t.Errorf("%d tally rows for %d days (%v): want one a day", rows, days, err)
		}
		convertAgain(t, s)
		checkTallies(t, s, r)
	})
}

// convertAgain puts the database back as it was before migration 0014 (one row a day,
// summed from the stored rows as migration 0007 did) and migrates it again, through
// 0014's buckets and 0017's day numbers; then it splits each day into two buckets, as
// writers that meet leave it on PostgreSQL, for the next checks.
func convertAgain(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.UndoTallyBuckets(ctx); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil || !slices.Equal(applied, []string{"0014_tally_buckets", "0017_tally_sums"}) {
		t.Fatalf("Migrate after undoing 0014 applied %v, %v", applied, err)
	}
	rows, days, err := s.TallyRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != days {
		t.Errorf("after 0017, %d tally rows for %d days: want one a day", rows, days)
	}
	if err := s.SplitTally(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTallyConcurrentWrites settles the shipped claims from eight goroutines at once,
// each also reversing every fifth settlement it made, then reverses more of them from
// the eight at once (a reversal re-settles the person-year's later claims and books
// adjustments), and checks that the tally equals the sum of the
// settlements, reversals and adjustments stored, over the year and random periods, before
// and after migration 0014 converts one row a day into buckets again. Claims of one day
// are spread over the goroutines, so that writers of one day meet.
func TestTallyConcurrentWrites(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		claims := d.Claims.Claims
		const workers = 8
		var (
			wg       sync.WaitGroup
			mine     [workers][]string // the settlements each worker made
			reversed [workers]int
			errs     [workers]error
		)
		// First settlements and some reversals together, then more reversals, of
		// settlements that by then have later claims to re-settle, all at once.
		for phase := range 2 {
			for w := range workers {
				wg.Go(func() {
					if phase == 1 {
						for i := 1; i < len(mine[w]); i += 5 {
							if _, err := ops.New(s).Reverse(ctx, mine[w][i], "concurrent tally test"); err != nil {
								errs[w] = err
								return
							}
							reversed[w]++
						}
						return
					}
					for i := w; i < len(claims); i += workers {
						st, _, err := ops.New(s).Settle(ctx, claims[i])
						if err != nil {
							errs[w] = err
							return
						}
						mine[w] = append(mine[w], st.ID)
						if len(mine[w])%5 == 0 {
							if _, err := ops.New(s).Reverse(ctx, st.ID, "concurrent tally test"); err != nil {
								errs[w] = err
								return
							}
							reversed[w]++
						}
					}
				})
			}
			wg.Wait()
		}
		want := 0
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("worker %d: %v", w, errs[w])
			}
			want += len(mine[w]) - reversed[w]
		}
		year, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		if year.Claims != want {
			t.Errorf("the year's tally counts %d claims; the workers settled and did not reverse %d", year.Claims, want)
		}
		adjs, err := s.AdjustmentsDischarged(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		if len(adjs) == 0 {
			t.Fatal("the reversals booked no adjustments: the test would not check that the tally counts them")
		}
		rows, days, err := s.TallyRows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A day has more rows than bucket 0 only where writers met, on PostgreSQL.
		if rows < days || rows > days*16 || s.Dialect() == "sqlite" && rows != days {
			t.Errorf("%d tally rows for %d days on %s", rows, days, s.Dialect())
		}
		t.Logf("%d tally rows for %d days", rows, days)
		r := rand.New(rand.NewPCG(8, 2018))
		checkTallies(t, s, r)
		convertAgain(t, s)
		checkTallies(t, s, r)
	})
}

// TestTallyAfterImport checks the per-day sums ImportSettled writes.
func TestTallyAfterImport(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
			t.Fatal(err)
		}
		n := bulkLoad(t, s, 500, 3000)
		if n != 3000 {
			t.Fatalf("imported %d claims, want 3000", n)
		}
		checkTallies(t, s, rand.New(rand.NewPCG(1, 2)))
	})
}

// BenchmarkTally measures the tally of a year of 100,000 stored settlements, beside the
// sum in Go of their rows that it replaces.
//
//	HPCALC_TEST_DATABASE_URL=postgres://... go test ./store -run '^$' -bench Tally
func BenchmarkTally(b *testing.B) {
	storetest.ForEachDBBench(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		d, err := fixtures.Load()
		if err != nil {
			b.Fatal(err)
		}
		doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
			b.Fatal(err)
		}
		bulkLoad(b, s, 40_000, 100_000)
		from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)
		for _, bb := range []struct {
			name  string
			tally func(context.Context, calc.Date, calc.Date) (calc.Tally, error)
		}{{"days", s.Tally}, {"rows-in-go", s.TallyFromSettlements}} {
			b.Run(bb.name, func(b *testing.B) {
				for b.Loop() {
					t, err := bb.tally(ctx, from, to)
					if err != nil {
						b.Fatal(err)
					}
					if t.Claims != 100_000 {
						b.Fatalf("%d claims, want 100000", t.Claims)
					}
				}
			})
		}
	})
}

func errorsIsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
