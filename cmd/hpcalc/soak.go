package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
)

// soakConfig is what loadtest --soak runs.
type soakConfig struct {
	databaseURL string
	duration    time.Duration // the soak stops after this long
	interval    time.Duration // a report row per interval
	maxRequests int           // or after this many requests
	clients     int
	// pprofAddr, if set, serves net/http/pprof for the soak's process on this address.
	pprofAddr string
	// statements is how many statements the report lists, those that took the most
	// database time first.
	statements int
	// spread is how many persons each shipped person stands for in new settlements: the
	// shipped person and spread-1 copies (same household size, register and aid), taken
	// in turn. 0: as the data, each copy's person-year holds the claims the shipped
	// person's does (soakPopulation). 1: the shipped persons only.
	spread int
}

// The mix of a soak, in twentieths: 50% quotes, 30% new settlements, 10% resubmissions
// of a settled claim, 5% reversals, 5% reads (a claim's settlement, a person's ledger
// and the year's tally in turn).
const (
	kindQuote = iota
	kindSettle
	kindResubmit
	kindReverse
	kindRead
	numKinds
)

var kindNames = [numKinds]string{"quote", "new settlement", "resubmission", "reversal", "read"}

// kindOf is the kind of a soak's n-th request: the mix repeats every 20 requests.
func kindOf(n int64) int {
	switch r := n % 20; {
	case r < 10:
		return kindQuote
	case r < 16:
		return kindSettle
	case r < 18:
		return kindResubmit
	case r < 19:
		return kindReverse
	}
	return kindRead
}

// soakInterval is what one interval of a soak measured.
type soakInterval struct {
	start, elapsed time.Duration // since the soak began
	requests       int
	errors         int
	p50, p99       time.Duration
	perSecond      float64
	// kindP50, kindP99 and kindN are each kind's latency and count in the interval:
	// which kind slows down as the tables grow.
	kindP50, kindP99 [numKinds]time.Duration
	kindN            [numKinds]int
	soakSample
}

// soakSample is what the soak reads of the process and the database at the end of an
// interval, and the statements run during it.
type soakSample struct {
	rssBytes   int64 // resident memory of this process (server and clients), at the end
	goroutines int
	fds        int           // open file descriptors, -1 where /proc is missing
	cpu        time.Duration // CPU time of this process (server, clients and SQLite) in the interval; -1 unknown
	// The SQLite file and its write-ahead log at the end, and the log's largest size seen
	// in the interval (read each second); -1 on PostgreSQL. A log that readers keep from
	// being checkpointed grows without bound.
	dbBytes, walBytes, walMaxBytes int64
	// The store's connection pool: open and in use at the end; how many waits for a
	// connection began in the interval and how long they took (on SQLite, which has one
	// connection, the time requests queued for the database).
	dbOpen, dbInUse int
	dbWaits         int64
	dbWait          time.Duration
	// Every statement the server ran in the interval, the most time first.
	stmts []store.StatementTime
}

// soakKind is one kind of request over the whole soak.
type soakKind struct {
	requests, errors int
	p50, p99         time.Duration
}

// soakResult is a soak's report.
type soakResult struct {
	intervals []soakInterval
	kinds     [numKinds]soakKind
	firstErr  string // the first failure's status and body, for the report
	// The tally of the year as the server answers it at the end, and what the clients
	// know they did: every settlement created counts one, every reversal takes one away.
	tallyClaims, settled, reversed int
	// plans are the database's plans of the hot queries at the end, on the tables the
	// soak grew (store.ExplainHot), and planErr why there are none.
	plans   []store.HotPlan
	planErr error
	// population is whose claims the new settlements were; dataClaimsPerPersonYear the
	// shipped data's claims per person-year, to compare.
	population              populationStats
	dataClaimsPerPersonYear float64
}

// keepSettled is how many of the latest settlements the clients keep to resubmit and read.
const keepSettled = 10_000

// settledClaim is a settlement a soak client made: its body, to resubmit, and its id,
// to reverse.
type settledClaim struct {
	body []byte
	id   string
}

// soak runs a mixed load from cfg.clients clients against a server on a scratch database
// until cfg.duration has passed or cfg.maxRequests were sent, and reports each interval.
func soak(ctx context.Context, cfg soakConfig, progress io.Writer) (soakResult, error) {
	var (
		observer = store.NewObserver()
		dbPath   string                       // the SQLite file; "" for PostgreSQL
		opened   = make(chan *store.Store, 1) // the server's store
	)
	addr, token, stop, err := startScratchServer(ctx, cfg.databaseURL, func(sc *serveConfig) {
		sc.store.observer = observer
		sc.store.opened = func(s *store.Store) { opened <- s }
		sc.pprofAddr = cfg.pprofAddr
		if cfg.databaseURL == "" {
			dbPath = sc.store.databaseURL
		}
	})
	if err != nil {
		return soakResult{}, err
	}
	defer stop()
	st := <-opened
	data, err := fixtures.Load()
	if err != nil {
		return soakResult{}, err
	}
	claims := data.Claims.Claims
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients, MaxConnsPerHost: cfg.clients}}
	base := "http://" + addr
	personOf := make([]string, len(claims))
	for i, c := range claims {
		personOf[i] = c.PersonID
	}
	// The registrar has a connection of its own, so that it never waits for a client's.
	regClient := &http.Client{Transport: &http.Transport{}}
	// As the data, copies of the persons with claims only; with a spread, as before, of
	// every person.
	var claimants map[string]bool
	if cfg.spread <= 0 {
		claimants = map[string]bool{}
		for _, id := range personOf {
			claimants[id] = true
		}
	}
	pop, err := newSoakPopulation(ctx, max(cfg.spread, 0), personOf, func(ctx context.Context, first, end int) error {
		return putCopies(ctx, regClient, base, token, first, end, claimants)
	})
	if err != nil {
		return soakResult{}, err
	}
	defer pop.stop()

	var (
		seq       atomic.Int64
		mu        sync.Mutex // guards what follows
		settled   []settledClaim
		toReverse []string // settlement ids not reversed yet
		nSettled  int
		nReversed int
		lat       []*latencies           // per interval
		ilat      []*[numKinds]latencies // per interval and kind
		fails     []int                  // per interval
		kindLat   [numKinds]latencies
		kindFails [numKinds]int
		firstErr  string
		samples   []soakSample // at each interval's end
	)
	start := time.Now()
	last := int((cfg.duration - 1) / cfg.interval) // requests finishing after the end count in the last interval
	intervalOf := func(t time.Time) int { return min(int(t.Sub(start)/cfg.interval), last) }
	record := func(kind int, t0 time.Time, d time.Duration, failed bool, detail string) {
		i := intervalOf(t0.Add(d))
		mu.Lock()
		defer mu.Unlock()
		for len(lat) <= i {
			lat = append(lat, new(latencies))
			ilat = append(ilat, new([numKinds]latencies))
			fails = append(fails, 0)
		}
		if failed {
			fails[i]++
			kindFails[kind]++
			if firstErr == "" {
				firstErr = kindNames[kind] + ": " + detail
			}
			return
		}
		lat[i].add(d)
		ilat[i][kind].add(d)
		kindLat[kind].add(d)
	}
	send := func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	// one sends the n-th request and records it.
	one := func(ctx context.Context, n int64) {
		kind := kindOf(n)
		c := claims[int(n)%len(claims)]
		mu.Lock()
		var pick settledClaim
		if len(settled) > 0 {
			pick = settled[int(n/20)%len(settled)]
		}
		revID := ""
		if kind == kindReverse && len(toReverse) > 0 {
			revID = toReverse[0]
			toReverse = toReverse[1:]
		}
		mu.Unlock()
		if (kind == kindResubmit || kind == kindReverse || kind == kindRead) && pick.id == "" ||
			kind == kindReverse && revID == "" {
			kind = kindSettle // nothing settled yet to resubmit, reverse or read
		}
		var (
			method = http.MethodPost
			path   string
			body   []byte
		)
		switch kind {
		case kindQuote:
			path, body = "/v1/quotes", claimJSON(c, c.ID)
		case kindSettle:
			k, err := pop.copyFor(n, int(n)%len(claims))
			if err != nil {
				record(kind, time.Now(), 0, true, err.Error())
				return
			}
			if k > 0 {
				c.PersonID = copyID(c.PersonID, k)
			}
			path, body = "/v1/settlements", claimJSON(c, fmt.Sprintf("K%d-%s", n, c.ID))
		case kindResubmit:
			path, body = "/v1/settlements", pick.body
		case kindReverse:
			path, body = "/v1/settlements/"+revID+"/reversal", []byte(`{"reason":"soak"}`)
		case kindRead:
			method = http.MethodGet
			switch (n / 20) % 3 {
			case 0:
				var claim struct {
					ID string `json:"claim_id"`
				}
				_ = json.Unmarshal(pick.body, &claim)
				path = "/v1/claims/" + claim.ID + "/settlement"
			case 1:
				path = "/v1/persons/" + c.PersonID + "/ledger?year=2018"
			default:
				path = "/v1/reports/tally?from=2018-01-01&to=2018-12-31"
			}
		}
		t0 := time.Now()
		status, resp, err := send(ctx, method, path, body)
		d := time.Since(t0)
		if err != nil || status >= 300 {
			detail := fmt.Sprintf("%s %s: %d %v %.200s", method, path, status, err, resp)
			record(kind, t0, d, true, detail)
			return
		}
		record(kind, t0, d, false, "")
		switch kind {
		case kindSettle:
			var out struct {
				ID string `json:"settlement_id"`
			}
			if err := json.Unmarshal(resp, &out); err != nil || out.ID == "" {
				record(kind, t0, d, true, fmt.Sprintf("no settlement_id in %.200s", resp))
				return
			}
			mu.Lock()
			nSettled++
			// Every settlement may be resubmitted; one in 6 is kept to be reversed, as
			// many as the mix's reversals ask for.
			if len(settled) < keepSettled {
				settled = append(settled, settledClaim{body: body, id: out.ID})
			} else { // the latest keepSettled, so that the clients' memory stays flat
				settled[nSettled%keepSettled] = settledClaim{body: body, id: out.ID}
			}
			if n%6 == 0 {
				toReverse = append(toReverse, out.ID)
			}
			mu.Unlock()
		case kindReverse:
			mu.Lock()
			nReversed++
			mu.Unlock()
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				n := seq.Add(1) - 1
				if n >= int64(cfg.maxRequests) {
					cancel()
					return
				}
				// Sent under ctx, not runCtx: a request started is finished, so that what
				// the clients count is what the server stored.
				one(ctx, n)
			}
		}()
	}
	// The process and the database at the end of each interval, and the statements run
	// in it. The sampler closes intervals 1 to last-1 as their time comes; the last
	// interval, which holds the requests still in flight at the end, is closed after them.
	var (
		prevCPU   = processCPU()
		prevStats = st.DBStats()
		walMax    atomic.Int64
	)
	observer.Take() // the server's start and the copies of the persons are not the soak's
	pollWAL := func() { walMax.Store(max(walMax.Load(), fileSize(dbPath+"-wal"))) }
	takeSample := func() soakSample {
		sm := sample()
		cpu := processCPU()
		sm.cpu = -1
		if cpu >= 0 && prevCPU >= 0 {
			sm.cpu = cpu - prevCPU
		}
		prevCPU = cpu
		stats := st.DBStats()
		sm.dbOpen, sm.dbInUse = stats.OpenConnections, stats.InUse
		sm.dbWaits, sm.dbWait = stats.WaitCount-prevStats.WaitCount, stats.WaitDuration-prevStats.WaitDuration
		prevStats = stats
		sm.dbBytes, sm.walBytes, sm.walMaxBytes = -1, -1, -1
		if dbPath != "" {
			pollWAL()
			sm.dbBytes, sm.walBytes, sm.walMaxBytes = fileSize(dbPath), fileSize(dbPath+"-wal"), walMax.Swap(0)
		}
		sm.stmts = observer.Take()
		return sm
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		poll := time.NewTicker(time.Second)
		defer poll.Stop()
		for i := 1; ; i++ {
			var end <-chan time.Time // nil after the last interval but one: wait for the end
			if i <= last {
				end = time.After(time.Until(start.Add(time.Duration(i) * cfg.interval)))
			}
		wait:
			for {
				select {
				case <-runCtx.Done():
					return
				case <-poll.C:
					if dbPath != "" {
						pollWAL()
					}
				case <-end:
					break wait
				}
			}
			sm := takeSample()
			mu.Lock()
			samples = append(samples, sm)
			fmt.Fprintf(progress, "soak: interval %d: %d requests, %d errors, RSS %d MiB, %d goroutines\n",
				i, at(lat, i-1).count(), at(fails, i-1), sm.rssBytes>>20, sm.goroutines)
			mu.Unlock()
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	samples = append(samples, takeSample())
	pop.stop()

	// What the clients did must be what the server tallies.
	var res soakResult
	res.settled, res.reversed, res.firstErr = nSettled, nReversed, firstErr
	res.population, res.dataClaimsPerPersonYear = pop.stats(), claimsPerPersonYear(personOf)
	status, body, err := send(ctx, http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", nil)
	if err != nil || status != http.StatusOK {
		return soakResult{}, fmt.Errorf("the tally at the end: %d %v %s", status, err, body)
	}
	var tally struct {
		Claims int `json:"claims"`
	}
	if err := json.Unmarshal(body, &tally); err != nil {
		return soakResult{}, fmt.Errorf("the tally at the end: %w", err)
	}
	res.tallyClaims = tally.Claims
	if len(settled) > 0 {
		last := settled[nSettled%len(settled)]
		var c struct {
			ClaimID  string `json:"claim_id"`
			PersonID string `json:"person_id"`
		}
		if err := json.Unmarshal(last.body, &c); err != nil {
			return soakResult{}, err
		}
		res.plans, res.planErr = st.ExplainHot(ctx, c.ClaimID, last.id, c.PersonID, 2018, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
	}

	for i := range lat {
		in := soakInterval{start: time.Duration(i) * cfg.interval, requests: lat[i].n, errors: fails[i]}
		in.elapsed = min(cfg.interval, elapsed-in.start)
		if i == last {
			in.elapsed = elapsed - in.start // with the requests in flight at the end
		}
		if in.elapsed <= 0 {
			continue
		}
		in.perSecond = float64(in.requests) / in.elapsed.Seconds()
		in.p50, in.p99 = lat[i].percentiles()
		for k := range numKinds {
			in.kindN[k] = ilat[i][k].n
			in.kindP50[k], in.kindP99[k] = ilat[i][k].percentiles()
		}
		in.soakSample = samples[min(i, len(samples)-1)]
		res.intervals = append(res.intervals, in)
	}
	for k := range numKinds {
		res.kinds[k] = soakKind{requests: kindLat[k].n, errors: kindFails[k]}
		res.kinds[k].p50, res.kinds[k].p99 = kindLat[k].percentiles()
	}
	return res, nil
}

// copyID is the id of the k-th copy of a shipped person or household.
func copyID(id string, k int) string { return id + "-" + strconv.Itoa(k) }

func at[T any](s []T, i int) T {
	var zero T
	if i < 0 || i >= len(s) {
		return zero
	}
	return s[i]
}

// latencies is a histogram of request times, a thirty-second of an octave a bucket from
// 1 µs to about 70 minutes (a time outside is counted in the first or last), so that
// what a soak keeps does not grow with its requests: it kept every time before, 24
// bytes a request in three lists, most of what its RSS gained in five minutes. Its
// percentiles are within 1.1% of the times'.
type latencies struct {
	n       int
	buckets [latBuckets]uint32
}

const (
	latPerOctave = 32
	latBuckets   = 32 * latPerOctave
)

func (l *latencies) add(d time.Duration) {
	b := 0
	if d > time.Microsecond {
		b = min(int(latPerOctave*math.Log2(float64(d)/float64(time.Microsecond))), latBuckets-1)
	}
	l.buckets[b]++
	l.n++
}

// count is how many times were added; 0 for nil.
func (l *latencies) count() int {
	if l == nil {
		return 0
	}
	return l.n
}

// percentiles are the median and the 99th percentile, as the middles of their buckets.
func (l *latencies) percentiles() (p50, p99 time.Duration) {
	if l.n == 0 {
		return 0, 0
	}
	return l.rank(l.n / 2), l.rank(l.n * 99 / 100)
}

// rank is the r-th smallest time (from 0).
func (l *latencies) rank(r int) time.Duration {
	seen := 0
	b := 0
	for ; b < latBuckets-1; b++ {
		seen += int(l.buckets[b])
		if seen > r {
			break
		}
	}
	return time.Duration(float64(time.Microsecond) * math.Exp2((float64(b)+0.5)/latPerOctave))
}

// fileSize is the size of the file at path; 0 if there is none, -1 for no path.
func fileSize(path string) int64 {
	if path == "" || path == "-wal" {
		return -1
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// sample reads this process's resident memory, goroutines and open descriptors.
func sample() soakSample {
	s := soakSample{goroutines: runtime.NumGoroutine(), fds: -1}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				s.rssBytes = kb << 10
			}
		}
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.fds = len(fds)
	}
	return s
}

// fullIntervals are the intervals that lasted the whole interval: a short last one would
// compare unfairly.
func (r soakResult) fullIntervals(interval time.Duration) []soakInterval {
	var full []soakInterval
	for _, in := range r.intervals {
		if in.elapsed >= interval {
			full = append(full, in)
		}
	}
	return full
}

func printSoak(w io.Writer, cfg soakConfig, r soakResult) {
	db := "SQLite"
	if cfg.databaseURL != "" {
		db = "PostgreSQL"
	}
	population := "each shipped claim's k-th new settlement to the k-th copy of its person (registered as needed), so that a person-year holds the claims the shipped data gives it"
	if cfg.spread > 0 {
		population = fmt.Sprintf("new settlements spread over %d copies of each shipped person", cfg.spread)
	}
	fmt.Fprintf(w, "Soak on loopback, %d clients, %s (at most %d requests), database %s; mix: 50%% quotes, 30%% new settlements, 10%% resubmissions, 5%% reversals, 5%% reads; %s\n\n",
		cfg.clients, cfg.duration, cfg.maxRequests, db, population)
	span := func(in soakInterval) string {
		return fmt.Sprintf("%s–%s", in.start, in.start+in.elapsed.Round(time.Second))
	}
	table := func(header string, row func(in soakInterval) string) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "interval\t"+header+"\t")
		for _, in := range r.intervals {
			fmt.Fprintln(tw, span(in)+"\t"+row(in)+"\t")
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	table("requests\terrors\tper second\tp50\tp99\tCPU per request", func(in soakInterval) string {
		cpu := "?"
		if in.cpu >= 0 && in.requests > 0 {
			cpu = dur(in.cpu / time.Duration(in.requests))
		}
		return fmt.Sprintf("%d\t%d\t%.0f\t%s\t%s\t%s", in.requests, in.errors, in.perSecond, dur(in.p50), dur(in.p99), cpu)
	})
	fmt.Fprintln(w, "CPU per request is this process's (server, clients, and SQLite's work), user and system, over the requests of the interval.")
	fmt.Fprintln(w)
	header := "RSS MiB\tgoroutines\tfds\tDB connections open/in use\tDB waits\twaited\tstatement time per second"
	if db == "SQLite" {
		header += "\tDB MiB\tWAL MiB (largest)"
	}
	table(header, func(in soakInterval) string {
		var busy time.Duration
		for _, st := range in.stmts {
			busy += st.Total
		}
		row := fmt.Sprintf("%d\t%d\t%d\t%d/%d\t%d\t%s\t%.2f s", in.rssBytes>>20, in.goroutines, in.fds, in.dbOpen, in.dbInUse,
			in.dbWaits, dur(in.dbWait), busy.Seconds()/in.elapsed.Seconds())
		if db == "SQLite" {
			row += fmt.Sprintf("\t%.1f\t%.1f (%.1f)", mib(in.dbBytes), mib(in.walBytes), mib(in.walMaxBytes))
		}
		return row
	})
	fmt.Fprintln(w, "Statement time per second: the time the server's statements took in the interval, summed, per second of it (with one connection, as SQLite has, the share of the time the database was busy).")
	fmt.Fprintln(w)

	var kinds []string
	for k := range numKinds {
		kinds = append(kinds, kindNames[k]+" p50 / p99 (n)")
	}
	table(strings.Join(kinds, "\t"), func(in soakInterval) string {
		var cells []string
		for k := range numKinds {
			cells = append(cells, fmt.Sprintf("%s / %s (%d)", dur(in.kindP50[k]), dur(in.kindP99[k]), in.kindN[k]))
		}
		return strings.Join(cells, "\t")
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\trequests\terrors\tp50\tp99\t")
	for k, kr := range r.kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t\n", kindNames[k], kr.requests, kr.errors, dur(kr.p50), dur(kr.p99))
	}
	tw.Flush()
	fmt.Fprintln(w)
	printStatements(w, cfg.statements, r.intervals, span)

	printPlans(w, r)
	if full := r.fullIntervals(cfg.interval); len(full) >= 2 && full[0].perSecond > 0 {
		first, last := full[0], full[len(full)-1]
		fmt.Fprintf(w, "last full interval %.0f/s is %.0f%% of the first's %.0f/s (goal: at least 80%%)\n",
			last.perSecond, 100*last.perSecond/first.perSecond, first.perSecond)
	}
	if ps := r.population; ps.spread == 0 && ps.personYears > 0 {
		fmt.Fprintf(w, "new settlements: %d to %d person-years, %.2f claims each before reversals (the shipped data: %.2f); copies of the claimants: %d, %d of them registered while the soak ran, in %d requests taking %s; clients waited for a copy %d times, %s in all\n",
			ps.settlements, ps.personYears, float64(ps.settlements)/float64(ps.personYears), r.dataClaimsPerPersonYear,
			ps.copies-1, ps.copies-1-copiesAhead, ps.puts, dur(ps.putTime), ps.waits, dur(ps.waitTime))
	}
	verdict := "consistent"
	if r.tallyClaims != r.settled-r.reversed {
		verdict = "INCONSISTENT"
	}
	fmt.Fprintf(w, "tally at the end: %d claims; the clients settled %d and reversed %d: %s\n", r.tallyClaims, r.settled, r.reversed, verdict)
	if r.firstErr != "" {
		fmt.Fprintf(w, "first error: %s\n", r.firstErr)
	}
}

// printStatements lists the n statements that took the most time over the soak, with
// their runs, mean and p99 in each interval: a statement whose time grows with the tables
// shows there whatever the host's load does to the rest.
func printStatements(w io.Writer, n int, intervals []soakInterval, span func(soakInterval) string) {
	type total struct {
		text string
		runs int64
		time time.Duration
	}
	totals := map[string]*total{}
	for _, in := range intervals {
		for _, st := range in.stmts {
			t := totals[st.Statement]
			if t == nil {
				t = &total{text: st.Statement}
				totals[st.Statement] = t
			}
			t.runs += st.Count
			t.time += st.Total
		}
	}
	top := make([]*total, 0, len(totals))
	for _, t := range totals {
		top = append(top, t)
	}
	slices.SortFunc(top, func(a, b *total) int { return cmp.Or(cmp.Compare(b.time, a.time), cmp.Compare(a.text, b.text)) })
	top = top[:min(n, len(top))]
	if len(top) == 0 {
		return
	}
	fmt.Fprintf(w, "The %d statements that took the most time, in all:\n", len(top))
	var all time.Duration
	for _, t := range totals {
		all += t.time
	}
	for i, t := range top {
		text := t.text
		if len(text) > 160 {
			text = text[:160] + "…"
		}
		fmt.Fprintf(w, "  S%d  %d runs, %s, %.0f%% of all statement time: %s\n", i+1, t.runs, dur(t.time), 100*t.time.Seconds()/all.Seconds(), text)
	}
	fmt.Fprintln(w)
	for _, what := range []string{"runs", "mean", "p99"} {
		fmt.Fprintf(w, "Each statement's %s per interval:\n", what)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "interval")
		for i := range top {
			fmt.Fprintf(tw, "\tS%d", i+1)
		}
		fmt.Fprintln(tw, "\t")
		for _, in := range intervals {
			by := map[string]store.StatementTime{}
			for _, st := range in.stmts {
				by[st.Statement] = st
			}
			fmt.Fprint(tw, span(in))
			for _, t := range top {
				st := by[t.text]
				switch what {
				case "runs":
					fmt.Fprintf(tw, "\t%d", st.Count)
				case "mean":
					fmt.Fprintf(tw, "\t%s", dur(st.Mean()))
				default:
					fmt.Fprintf(tw, "\t%s", dur(st.P99))
				}
			}
			fmt.Fprintln(tw, "\t")
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}

// printPlans writes the plans of the hot queries at the end: PostgreSQL's as run, with
// the rows and pages each step read; SQLite's as planned.
func printPlans(w io.Writer, r soakResult) {
	if r.planErr != nil {
		fmt.Fprintf(w, "The plans of the hot queries at the end could not be read: %v\n\n", r.planErr)
		return
	}
	if len(r.plans) == 0 {
		return
	}
	fmt.Fprintln(w, "The plans of the hot queries at the end, on the tables the soak grew (the latest settlement's claim, person and year; PostgreSQL's run, with the rows and pages read):")
	for _, p := range r.plans {
		fmt.Fprintf(w, "  %s:\n", p.Name)
		planning := false
		for _, line := range p.Lines {
			// PostgreSQL's planning block says nothing of the tables.
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "Planning") {
				planning = trimmed == "Planning:"
				continue
			}
			if planning && strings.HasPrefix(trimmed, "Buffers:") {
				continue
			}
			planning = false
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	fmt.Fprintln(w)
}

// dur rounds d for a report: three significant digits or so.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// runSoak is loadtest --soak.
func runSoak(cfg soakConfig, stdout, stderr io.Writer) error {
	if cfg.interval <= 0 || cfg.maxRequests < 1 || cfg.clients < 1 {
		return errors.New("--interval, --soak-requests and --clients must be positive")
	}
	if cfg.spread < 0 {
		return errors.New("--spread must not be negative (0: as the data)")
	}
	r, err := soak(context.Background(), cfg, stderr)
	if err != nil {
		return err
	}
	printSoak(stdout, cfg, r)
	errs := 0
	for _, k := range r.kinds {
		errs += k.errors
	}
	if errs > 0 || r.tallyClaims != r.settled-r.reversed {
		return fmt.Errorf("the soak failed: %d errors; tally %d claims against %d settled less %d reversed", errs, r.tallyClaims, r.settled, r.reversed)
	}
	return nil
}
