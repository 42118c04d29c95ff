package main

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSoakPopulation checks whose claim each new settlement of a soak is: as the data,
// the k-th settlement of a shipped claim goes to copy k, registered before it is used,
// so that every person-year holds the shipped person's claims; with a spread, copies in
// turn, all registered first.
func TestSoakPopulation(t *testing.T) {
	personOf := []string{"P1", "P1", "P2", "P3", "P3", "P3"} // 6 claims of 3 persons: 2 a person-year
	t.Run("AsTheData", func(t *testing.T) {
		var (
			mu         sync.Mutex
			registered = 1 // copy 0 is the shipped person
		)
		put := func(_ context.Context, first, end int) error {
			mu.Lock()
			defer mu.Unlock()
			if first != registered || end <= first {
				t.Errorf("registered copies %d to %d after %d", first, end-1, registered-1)
			}
			registered = end
			return nil
		}
		p, err := newSoakPopulation(context.Background(), 0, personOf, put)
		if err != nil {
			t.Fatal(err)
		}
		defer p.stop()
		var wg sync.WaitGroup
		const rounds = 50
		for g := range 4 { // concurrent clients, each settling every claim in turn
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range rounds * len(personOf) {
					i := n % len(personOf)
					k, err := p.copyFor(int64(n), i)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if k >= registered {
						t.Errorf("client %d: claim %d to copy %d, only %d registered", g, i, k, registered)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		ps := p.stats()
		if want := 4 * rounds * len(personOf); ps.settlements != want || ps.personYears != 3*4*rounds {
			t.Errorf("%d settlements to %d person-years, want %d to %d", ps.settlements, ps.personYears, want, 3*4*rounds)
		}
		for i, n := range p.settled {
			if n != 4*rounds {
				t.Errorf("claim %d settled %d times, want %d", i, n, 4*rounds)
			}
		}
		if got := claimsPerPersonYear(personOf); got != 2 {
			t.Errorf("claims per person-year %v, want 2", got)
		}
	})
	t.Run("Spread", func(t *testing.T) {
		var puts [][2]int
		p, err := newSoakPopulation(context.Background(), 3, personOf, func(_ context.Context, first, end int) error {
			puts = append(puts, [2]int{first, end})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.stop()
		if len(puts) != 1 || puts[0] != [2]int{1, 3} {
			t.Errorf("registered %v, want copies 1 and 2 before the clock", puts)
		}
		for n, want := range map[int64]int{0: 0, 5: 0, 6: 1, 13: 2, 18: 0} {
			if k, err := p.copyFor(n, int(n)%len(personOf)); k != want || err != nil {
				t.Errorf("request %d: copy %d, %v; want %d", n, k, err, want)
			}
		}
	})
}

// TestLatencies checks the soak's histogram of request times against the exact
// percentiles of the same times.
func TestLatencies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 99, 1000, 100_000} {
		var (
			l     latencies
			times []time.Duration
		)
		for range n {
			d := time.Duration(math.Exp(rng.Float64()*14)) * time.Microsecond // 1 µs to 1.2 s
			l.add(d)
			times = append(times, d)
		}
		slices.Sort(times)
		p50, p99 := l.percentiles()
		for _, c := range []struct {
			name      string
			got, want time.Duration
		}{{"p50", p50, times[n/2]}, {"p99", p99, times[n*99/100]}} {
			if ratio := float64(c.got) / float64(c.want); ratio < 1/1.011 || ratio > 1.011 {
				t.Errorf("%d times: %s %v, exactly %v", n, c.name, c.got, c.want)
			}
		}
		if l.count() != n {
			t.Errorf("count %d, want %d", l.count(), n)
		}
	}
	var none *latencies
	if none.count() != 0 {
		t.Error("a nil histogram counts times")
	}
	var empty latencies
	if p50, p99 := empty.percentiles(); p50 != 0 || p99 != 0 {
		t.Errorf("empty: %v %v", p50, p99)
	}
}
