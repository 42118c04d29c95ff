package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hpcalc/hpcalc/fixtures"
)

// soakPopulation decides whose claim each new settlement of a soak is: which copy of the
// shipped claim's person it goes to, copies that it registers through the API.
//
// As the data (spread 0, the default): the k-th new settlement of a shipped claim goes to
// the k-th copy of its person (the 0th is the shipped person), so that every copy's
// person-year holds exactly the claims the shipped person's does: 2.6 on average, as
// many as the data gives a person-year, however many settlements the machine makes in
// the soak's time. Copies of the persons with claims are registered ahead of use by a
// goroutine of their own, a few at a time, so that the register grows with the claims,
// at a rate that is the same in every minute as the settlements'. (Copies of the others,
// who never claim, would change nothing the soak does and cost most of the registering:
// 778 persons a copy instead of 214.)
//
// Spread N (the load before 2026-12-01): the n-th request's claim goes to copy
// (n / shipped claims) mod N, N copies registered before the clock starts; a copy's
// person-year then holds claims in proportion to how many settlements the machine makes,
// without bound (with N = 100 and the 300,000 settlements of a quiet machine's five
// minutes, about 14 at the end).
type soakPopulation struct {
	spread   int                                             // copies, fixed; 0: as the data
	personOf []string                                        // the person of each shipped claim
	put      func(ctx context.Context, first, end int) error // registers copies [first, end)

	mu   sync.Mutex
	cond *sync.Cond
	// as the data: settled[i] is how many new settlements shipped claim i has had, so the
	// copy its next one goes to.
	settled    []int
	registered int   // copies 0 to registered-1 are on the register
	wanted     int   // the highest copy asked for, plus one
	err        error // why the registrar stopped
	done       bool
	putTime    time.Duration // spent registering copies while the soak ran
	puts       int
	// Clients that found their copy not yet registered, and how long they waited: a
	// registrar that falls behind slows the soak without a request's time showing it.
	waits    int
	waitTime time.Duration
}

// The registrar's lead: copies registered before the clock starts and kept on the
// register ahead of the highest copy in use, and how many one request registers.
const (
	copiesAhead   = 16
	copiesAtOnce  = 4
	copiesPerBody = 20 // a request's body stays under the API's 1 MiB
)

// newSoakPopulation registers what the soak needs before its clock starts and, as the
// data, starts the registrar, which stops at ctx's end or stop.
func newSoakPopulation(ctx context.Context, spread int, personOf []string, put func(ctx context.Context, first, end int) error) (*soakPopulation, error) {
	p := &soakPopulation{spread: spread, personOf: personOf, put: put, settled: make([]int, len(personOf)), registered: 1}
	p.cond = sync.NewCond(&p.mu)
	if spread > 0 {
		if err := put(ctx, 1, spread); err != nil {
			return nil, err
		}
		p.registered = spread
		return p, nil
	}
	if err := put(ctx, 1, 1+copiesAhead); err != nil {
		return nil, err
	}
	p.registered = 1 + copiesAhead
	go p.registrar(ctx)
	return p, nil
}

// registrar keeps copiesAhead copies registered beyond the highest one asked for.
func (p *soakPopulation) registrar(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for !p.done && p.err == nil && p.wanted+copiesAhead <= p.registered {
			p.cond.Wait()
		}
		if p.done || p.err != nil {
			return
		}
		first := p.registered
		p.mu.Unlock()
		t0 := time.Now()
		err := p.put(ctx, first, first+copiesAtOnce)
		d := time.Since(t0)
		p.mu.Lock()
		p.putTime += d
		p.puts++
		if err != nil {
			p.err = err
		} else {
			p.registered = first + copiesAtOnce
		}
		p.cond.Broadcast()
	}
}

// stop ends the registrar.
func (p *soakPopulation) stop() {
	p.mu.Lock()
	p.done = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// copyFor returns the copy of its person that the n-th request's new settlement of
// shipped claim i goes to, waiting, as the data, until that copy is registered.
func (p *soakPopulation) copyFor(n int64, i int) (int, error) {
	if p.spread > 0 {
		return int((n / int64(len(p.personOf))) % int64(p.spread)), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.settled[i]
	p.settled[i]++
	if k+1 > p.wanted {
		p.wanted = k + 1
		p.cond.Broadcast()
	}
	if k >= p.registered && p.err == nil && !p.done {
		t0 := time.Now()
		for k >= p.registered && p.err == nil && !p.done {
			p.cond.Wait()
		}
		p.waits++
		p.waitTime += time.Since(t0)
	}
	if k >= p.registered {
		if p.err != nil {
			return 0, fmt.Errorf("register copy %d of the persons: %w", k, p.err)
		}
		return 0, fmt.Errorf("copy %d of the persons: the soak has stopped", k)
	}
	return k, nil
}

// populationStats is what a soak's population came to: the copies registered and, as
// the data, the requests and time that registering them took while the soak ran, and
// the person-years that new settlements went to.
type populationStats struct {
	spread, copies, puts int
	putTime              time.Duration
	waits                int
	waitTime             time.Duration
	// As the data: the new settlements asked for and the person-years they went to.
	settlements, personYears int
}

func (p *soakPopulation) stats() populationStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := populationStats{spread: p.spread, copies: p.registered, puts: p.puts, putTime: p.putTime, waits: p.waits, waitTime: p.waitTime}
	if p.spread == 0 {
		// A person's copies 0 to k-1 have claims, k the most settlements of any of
		// their shipped claims.
		copies := map[string]int{}
		for i, n := range p.settled {
			ps.settlements += n
			copies[p.personOf[i]] = max(copies[p.personOf[i]], n)
		}
		for _, k := range copies {
			ps.personYears += k
		}
	}
	return ps
}

// claimsPerPersonYear is the shipped data's: its claims over the persons with claims
// (all of one year).
func claimsPerPersonYear(personOf []string) float64 {
	persons := map[string]bool{}
	for _, p := range personOf {
		persons[p] = true
	}
	return float64(len(personOf)) / float64(max(len(persons), 1))
}

// putCopies registers, through the API, copies first to end-1 of every shipped person
// (of only those in claimants, if not nil), each copy of a household in a copy of that
// household.
func putCopies(ctx context.Context, client *http.Client, base, token string, first, end int, claimants map[string]bool) error {
	raw, err := fixtures.FS.ReadFile(fixtures.PersonsFile)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for ; first < end; first += copiesPerBody {
		var b strings.Builder
		b.WriteString(lines[0] + "\n")
		for k := first; k < min(first+copiesPerBody, end); k++ {
			for _, line := range lines[1:] {
				person, rest, _ := strings.Cut(strings.TrimRight(line, "\r"), ",")
				if claimants != nil && !claimants[person] {
					continue
				}
				household, rest, _ := strings.Cut(rest, ",")
				fmt.Fprintf(&b, "%s,%s,%s\n", copyID(person, k), copyID(household, k), rest)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/v1/persons", strings.NewReader(b.String()))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("register the copies of the persons: %w", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("register the copies of the persons: %d %.300s", resp.StatusCode, body)
		}
	}
	return nil
}
