package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/hpcalc/hpcalc/fixtures"
)

// soakConfig is what loadtest --soak runs.
type soakConfig struct {
	databaseURL string
	duration    time.Duration // the soak stops after this long
	interval    time.Duration // a report row per interval
	maxRequests int           // or after this many requests
	clients     int
	// spread is how many persons each shipped person stands for in new settlements: the
	// shipped person and spread-1 copies (same household size, register and aid), so
	// that a person-year holds about as many claims as the shipped data gives it, not a
	// thousandth of every settlement made. 1: the shipped persons only.
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
	rssBytes       int64 // resident memory of this process (server and clients), at the end
	goroutines     int
	fds            int // open file descriptors, -1 where /proc is missing
	// kindP50 and kindN are each kind's median latency and count in the interval: which
	// kind slows down as the tables grow.
	kindP50 [numKinds]time.Duration
	kindN   [numKinds]int
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
	addr, token, stop, err := startScratchServer(ctx, cfg.databaseURL)
	if err != nil {
		return soakResult{}, err
	}
	defer stop()
	data, err := fixtures.Load()
	if err != nil {
		return soakResult{}, err
	}
	claims := data.Claims.Claims
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients, MaxConnsPerHost: cfg.clients}}
	base := "http://" + addr
	if cfg.spread > 1 {
		if err := putCopies(ctx, client, base, token, cfg.spread); err != nil {
			return soakResult{}, err
		}
	}

	var (
		seq       atomic.Int64
		mu        sync.Mutex // guards what follows
		settled   []settledClaim
		toReverse []string // settlement ids not reversed yet
		nSettled  int
		nReversed int
		lat       [][]time.Duration           // per interval
		ilat      [][numKinds][]time.Duration // per interval and kind
		fails     []int                       // per interval
		kindLat   [numKinds][]time.Duration
		kindFails [numKinds]int
		firstErr  string
		samples   []soakInterval // memory and goroutines at each interval's end
	)
	start := time.Now()
	last := int((cfg.duration - 1) / cfg.interval) // requests finishing after the end count in the last interval
	intervalOf := func(t time.Time) int { return min(int(t.Sub(start)/cfg.interval), last) }
	record := func(kind int, t0 time.Time, d time.Duration, failed bool, detail string) {
		i := intervalOf(t0.Add(d))
		mu.Lock()
		defer mu.Unlock()
		for len(lat) <= i {
			lat = append(lat, nil)
			ilat = append(ilat, [numKinds][]time.Duration{})
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
		lat[i] = append(lat[i], d)
		ilat[i][kind] = append(ilat[i][kind], d)
		kindLat[kind] = append(kindLat[kind], d)
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
			if k := (n / int64(len(claims))) % int64(max(cfg.spread, 1)); k > 0 {
				c.PersonID = copyID(c.PersonID, int(k))
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
	// Memory, goroutines and descriptors at the end of each interval.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.interval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case now := <-t.C:
				sm := sample()
				mu.Lock()
				samples = append(samples, sm)
				i := intervalOf(now) - 1
				fmt.Fprintf(progress, "soak: interval %d: %d requests, %d errors, RSS %d MiB, %d goroutines\n",
					i+1, len(at(lat, i)), at(fails, i), sm.rssBytes>>20, sm.goroutines)
				mu.Unlock()
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	samples = append(samples, sample())

	// What the clients did must be what the server tallies.
	var res soakResult
	res.settled, res.reversed, res.firstErr = nSettled, nReversed, firstErr
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

	for i := range lat {
		in := soakInterval{start: time.Duration(i) * cfg.interval, requests: len(lat[i]), errors: fails[i]}
		in.elapsed = min(cfg.interval, elapsed-in.start)
		if i == last {
			in.elapsed = elapsed - in.start // with the requests in flight at the end
		}
		if in.elapsed <= 0 {
			continue
		}
		in.perSecond = float64(in.requests) / in.elapsed.Seconds()
		in.p50, in.p99 = percentiles(lat[i])
		for k := range numKinds {
			in.kindN[k] = len(ilat[i][k])
			in.kindP50[k], _ = percentiles(ilat[i][k])
		}
		sm := samples[min(i, len(samples)-1)]
		in.rssBytes, in.goroutines, in.fds = sm.rssBytes, sm.goroutines, sm.fds
		res.intervals = append(res.intervals, in)
	}
	for k := range numKinds {
		res.kinds[k] = soakKind{requests: len(kindLat[k]), errors: kindFails[k]}
		res.kinds[k].p50, res.kinds[k].p99 = percentiles(kindLat[k])
	}
	return res, nil
}

// copyID is the id of the k-th copy of a shipped person or household.
func copyID(id string, k int) string { return id + "-" + strconv.Itoa(k) }

// putCopies registers, through the API, spread-1 copies of every shipped person, each
// copy of a household in a copy of that household.
func putCopies(ctx context.Context, client *http.Client, base, token string, spread int) error {
	raw, err := fixtures.FS.ReadFile(fixtures.PersonsFile)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	// Twenty copies a request keep the body under the API's 1 MiB.
	for first := 1; first < spread; first += 20 {
		var b strings.Builder
		b.WriteString(lines[0] + "\n")
		for k := first; k < min(first+20, spread); k++ {
			for _, line := range lines[1:] {
				person, rest, _ := strings.Cut(strings.TrimRight(line, "\r"), ",")
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

func at[T any](s []T, i int) T {
	var zero T
	if i < 0 || i >= len(s) {
		return zero
	}
	return s[i]
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}

// sample reads this process's resident memory, goroutines and open descriptors.
func sample() soakInterval {
	s := soakInterval{goroutines: runtime.NumGoroutine(), fds: -1}
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
	fmt.Fprintf(w, "Soak on loopback, %d clients, %s (at most %d requests), database %s; mix: 50%% quotes, 30%% new settlements, 10%% resubmissions, 5%% reversals, 5%% reads; new settlements spread over %d copies of each shipped person\n\n",
		cfg.clients, cfg.duration, cfg.maxRequests, db, max(cfg.spread, 1))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "interval\trequests\terrors\tper second\tp50\tp99\tRSS MiB\tgoroutines\tfds\t")
	for _, in := range r.intervals {
		fmt.Fprintf(tw, "%s–%s\t%d\t%d\t%.0f\t%s\t%s\t%d\t%d\t%d\t\n", in.start, in.start+in.elapsed.Round(time.Second),
			in.requests, in.errors, in.perSecond, in.p50.Round(time.Microsecond), in.p99.Round(time.Microsecond),
			in.rssBytes>>20, in.goroutines, in.fds)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "interval")
	for k := range numKinds {
		fmt.Fprintf(tw, "\t%s p50 (n)", kindNames[k])
	}
	fmt.Fprintln(tw, "\t")
	for _, in := range r.intervals {
		fmt.Fprintf(tw, "%s–%s", in.start, in.start+in.elapsed.Round(time.Second))
		for k := range numKinds {
			fmt.Fprintf(tw, "\t%s (%d)", in.kindP50[k].Round(10*time.Microsecond), in.kindN[k])
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\trequests\terrors\tp50\tp99\t")
	for k, kr := range r.kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t\n", kindNames[k], kr.requests, kr.errors, kr.p50.Round(time.Microsecond), kr.p99.Round(time.Microsecond))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if full := r.fullIntervals(cfg.interval); len(full) >= 2 && full[0].perSecond > 0 {
		first, last := full[0], full[len(full)-1]
		fmt.Fprintf(w, "last full interval %.0f/s is %.0f%% of the first's %.0f/s (goal: at least 80%%)\n",
			last.perSecond, 100*last.perSecond/first.perSecond, first.perSecond)
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

// runSoak is loadtest --soak.
func runSoak(cfg soakConfig, stdout, stderr io.Writer) error {
	if cfg.interval <= 0 || cfg.maxRequests < 1 || cfg.clients < 1 {
		return errors.New("--interval, --soak-requests and --clients must be positive")
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
