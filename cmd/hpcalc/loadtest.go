package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

const loadtestHelp = `
Loadtest measures the API on loopback. It starts, inside this process, an empty echo
handler as the baseline and an hpcalc server on a scratch database (SQLite in a temporary
directory, or a scratch schema of the PostgreSQL database named by --database-url) with the
shipped fixtures loaded, then sends from --clients concurrent clients, each phase bounded
by --duration and --requests: after --warmup unmeasured requests of each, empty
requests and quotes (POST /v1/quotes) in turn, --rounds times, so that both meet the same load from the rest of the machine; then durable
settlements (POST /v1/settlements) once. It prints requests per second and p50/p99
latency of each over all its rounds, and the quote rate as a share of the empty
handler's, overall and per round (the target is at least 50%). --cpuprofile writes a CPU
profile of the whole process, clients and servers, for go tool pprof.

--soak DURATION runs instead a mixed load on the hpcalc server alone, for DURATION or
--soak-requests requests, whichever comes first: --clients clients (32 unless given) send
50% quotes, 30% new settlements, 10% resubmissions of settled claims, 5% reversals and 5%
reads (a claim's settlement, a person's ledger, the year's tally). New settlements model
the shipped data's person-years: the k-th new settlement of a shipped claim goes to the
k-th copy of its person (same household size, register and aid), so that each copy's
person-year holds exactly the claims of the shipped person's (2.6 on average), however
fast the machine; copies of the persons with claims are registered through PUT
/v1/persons as they are needed, a few at a time while the soak runs (the report counts
any wait of a client for one). --spread N (N >= 1) gives the load of before instead: new
settlements go in turn to N copies registered before the clock starts (1: the shipped
persons only), and a person-year then holds claims in proportion to the settlements made
(the old default, 100, gave about 14 a person-year after a quiet machine's five minutes,
five times the data's). Every --interval
(a minute unless given) it reports requests per second, p50/p99 latency, errors, the
process's resident memory, goroutines, open descriptors and CPU time per request, the
database's connections and the time requests waited for one (and on SQLite the sizes of
the file and its write-ahead log), each kind's p50 and p99, and every statement the server
ran, timed (--statements lists those that took the most time, with their runs, mean and
p99 in each interval); at the end, each kind of request, the last full interval's rate as a share of the first's (the goal is at least
80%), and whether the year's tally equals the settlements made less the reversals. It
fails if any request failed or the tally disagrees. --pprof-addr serves net/http/pprof
while it runs, for a CPU profile of a minute of it:
go tool pprof 'http://ADDR/debug/pprof/profile?seconds=60'.`

type loadConfig struct {
	databaseURL string
	duration    time.Duration
	requests    int
	clients     int
	rounds      int
	warmup      int
}

func runLoadtest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", loadtestHelp, stdout, stderr)
	var cfg loadConfig
	// DATABASE_URL may name the SQLite file of serve (the Docker image sets it so): only a
	// PostgreSQL URL is taken from it, since the load runs on a scratch database.
	envURL := os.Getenv("DATABASE_URL")
	if !strings.HasPrefix(envURL, "postgres://") && !strings.HasPrefix(envURL, "postgresql://") {
		envURL = ""
	}
	fs.StringVar(&cfg.databaseURL, "database-url", envURL, "PostgreSQL URL to test on a scratch schema of; empty for SQLite; env DATABASE_URL when it is a PostgreSQL URL")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "longest time for each phase")
	fs.IntVar(&cfg.requests, "requests", 20000, "most requests in each phase")
	fs.IntVar(&cfg.clients, "clients", 16, "concurrent clients")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of empty requests and quotes, in turn")
	fs.IntVar(&cfg.warmup, "warmup", 1000, "unmeasured empty requests and quotes sent first")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`")
	soakCfg := soakConfig{clients: 32}
	fs.StringVar(&soakCfg.pprofAddr, "pprof-addr", "", "with --soak, serve net/http/pprof on this `address` (e.g. 127.0.0.1:6060) while it runs; off if empty")
	fs.IntVar(&soakCfg.statements, "statements", 12, "with --soak, how many statements to report, those that took the most time first")
	fs.DurationVar(&soakCfg.duration, "soak", 0, "instead of the phases, a mixed soak of this `DURATION` (e.g. 5m); see above")
	fs.DurationVar(&soakCfg.interval, "interval", time.Minute, "with --soak, a report row per interval")
	fs.IntVar(&soakCfg.maxRequests, "soak-requests", 5_000_000, "with --soak, stop after this many requests if the time has not run out")
	fs.IntVar(&soakCfg.spread, "spread", 0, "with --soak, new settlements go in turn to this many copies of each shipped person, registered before the clock (1: the shipped persons only; their person-years then grow with the settlements made); 0: as the data, each copy's person-year holding the shipped person's claims")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if soakCfg.duration > 0 {
		soakCfg.databaseURL = cfg.databaseURL
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "clients" {
				soakCfg.clients = cfg.clients
			}
		})
		return runSoak(soakCfg, stdout, stderr)
	}
	if cfg.clients < 1 || cfg.requests < 1 || cfg.duration <= 0 || cfg.rounds < 1 || cfg.warmup < 0 {
		return errors.New("--clients, --requests, --duration and --rounds must be positive, --warmup not negative")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	results, err := loadtest(context.Background(), cfg, stderr)
	if err != nil {
		return err
	}
	printLoad(stdout, cfg, results)
	return nil
}

// loadResult is one phase's measurement.
type loadResult struct {
	name      string
	requests  int
	errors    int
	elapsed   time.Duration
	p50, p99  time.Duration
	perSecond float64
	latencies []time.Duration // sorted
	rounds    []float64       // per second in each round
}

func loadtest(ctx context.Context, cfg loadConfig, stderr io.Writer) ([]loadResult, error) {
	// The baseline: an empty echo handler on loopback.
	empty := echo.New()
	empty.HideBanner, empty.HidePort = true, true
	empty.POST("/empty", func(c echo.Context) error {
		_, _ = io.Copy(io.Discard, c.Request().Body)
		return c.NoContent(http.StatusNoContent)
	})
	emptyAddr, stopEmpty, err := listen(empty)
	if err != nil {
		return nil, err
	}
	defer stopEmpty()

	addr, token, stop, err := startScratchServer(ctx, cfg.databaseURL)
	if err != nil {
		return nil, err
	}
	defer stop()

	data, err := fixtures.Load()
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(data.Claims.Claims))
	for i, c := range data.Claims.Claims {
		bodies[i] = claimJSON(c, c.ID)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients, MaxConnsPerHost: cfg.clients}}
	var seq atomic.Int64
	phases := []struct {
		name string
		req  func(n int) (*http.Request, error)
	}{
		{"empty echo handler", func(n int) (*http.Request, error) {
			return http.NewRequest(http.MethodPost, "http://"+emptyAddr+"/empty", bytes.NewReader(bodies[n%len(bodies)]))
		}},
		{"quote", func(n int) (*http.Request, error) {
			return authed(http.NewRequest(http.MethodPost, "http://"+addr+"/v1/quotes", bytes.NewReader(bodies[n%len(bodies)])))(token)
		}},
		{"settlement (durable)", func(n int) (*http.Request, error) {
			c := data.Claims.Claims[n%len(data.Claims.Claims)]
			body := claimJSON(c, fmt.Sprintf("L%d-%s", seq.Add(1), c.ID))
			return authed(http.NewRequest(http.MethodPost, "http://"+addr+"/v1/settlements", bytes.NewReader(body)))(token)
		}},
	}
	results := make([]loadResult, len(phases))
	run := func(i, round int) error {
		ph := phases[i]
		fmt.Fprintf(stderr, "loadtest: %s, round %d...\n", ph.name, round)
		r, err := runPhase(ctx, client, cfg, ph.req)
		if err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		results[i] = mergeLoad(results[i], r)
		results[i].name = ph.name
		return nil
	}
	// Unmeasured first: connections to open, caches to fill, the heap to grow.
	if cfg.warmup > 0 {
		warm := cfg
		warm.requests = cfg.warmup
		for i := range 2 {
			fmt.Fprintf(stderr, "loadtest: %s, warming up...\n", phases[i].name)
			if _, err := runPhase(ctx, client, warm, phases[i].req); err != nil {
				return nil, fmt.Errorf("%s, warming up: %w", phases[i].name, err)
			}
		}
	}
	// Empty requests and quotes in turn, so that a change in what else the machine does
	// falls on both; settlements, which store, once.
	for round := 1; round <= cfg.rounds; round++ {
		for i := range 2 {
			if err := run(i, round); err != nil {
				return nil, err
			}
		}
	}
	if err := run(2, 1); err != nil {
		return nil, err
	}
	return results, nil
}

// startScratchServer starts, in this process, an hpcalc server on a scratch database
// (SQLite in a temporary directory, or a scratch schema of the PostgreSQL database at
// databaseURL) with the shipped fixtures loaded, and returns its address, an admin token
// and what stops it and drops the database.
// Each of opts may change the server's configuration before it starts (the soak's
// statement timing and profiling listener).
func startScratchServer(ctx context.Context, databaseURL string, opts ...func(*serveConfig)) (addr, token string, stop func(), err error) {
	sc := serveConfig{addr: "127.0.0.1:0", logFormat: "text", loadFixtures: true}
	var cleanup func()
	if databaseURL != "" {
		url, drop, err := store.ScratchPostgres(ctx, databaseURL)
		if err != nil {
			return "", "", nil, err
		}
		cleanup = drop
		sc.store.databaseURL = url
	} else {
		dir, err := os.MkdirTemp("", "hpcalc-loadtest-")
		if err != nil {
			return "", "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		sc.store.databaseURL = filepath.Join(dir, "hpcalc.db")
	}
	for _, o := range opts {
		o(&sc)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(srvCtx, sc, &out, io.Discard, func(a string) { ready <- a }) }()
	select {
	case addr = <-ready:
	case err := <-done:
		stopSrv()
		cleanup()
		return "", "", nil, fmt.Errorf("start the server: %w", err)
	}
	_, token, _ = strings.Cut(strings.TrimSpace(out.String()), "Admin token (shown once): ")
	return addr, token, func() { stopSrv(); <-done; cleanup() }, nil
}

// mergeLoad adds round r to the phase's results so far.
func mergeLoad(sum, r loadResult) loadResult {
	sum.requests += r.requests
	sum.errors += r.errors
	sum.elapsed += r.elapsed
	sum.rounds = append(sum.rounds, r.perSecond)
	sum.latencies = append(sum.latencies, r.latencies...)
	slices.Sort(sum.latencies)
	sum.p50 = sum.latencies[len(sum.latencies)/2]
	sum.p99 = sum.latencies[len(sum.latencies)*99/100]
	sum.perSecond = float64(sum.requests) / sum.elapsed.Seconds()
	return sum
}

func authed(req *http.Request, err error) func(token string) (*http.Request, error) {
	return func(token string) (*http.Request, error) {
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return req, nil
	}
}

// claimJSON is the API's claim body for c under another id.
func claimJSON(c calc.Claim, id string) []byte {
	b, _ := json.Marshal(map[string]string{
		"claim_id": id, "person_id": c.PersonID, "provider_id": c.ProviderID, "kind": c.Kind.String(),
		"admitted_on": c.AdmittedOn.String(), "discharged_on": c.DischargedOn.String(),
		"total": c.Total.String(), "in_policy": c.InPolicy.String(),
	})
	return b
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// runPhase sends requests from cfg.clients goroutines until cfg.requests are sent or
// cfg.duration has passed.
func runPhase(ctx context.Context, client *http.Client, cfg loadConfig, newReq func(n int) (*http.Request, error)) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var (
		next      atomic.Int64
		failed    atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= cfg.requests {
					break
				}
				req, err := newReq(n)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					failed.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	r := loadResult{requests: len(latencies), errors: int(failed.Load()), elapsed: elapsed}
	if len(latencies) == 0 {
		return r, errors.New("no request succeeded")
	}
	slices.Sort(latencies)
	r.latencies = latencies
	r.p50 = latencies[len(latencies)/2]
	r.p99 = latencies[len(latencies)*99/100]
	r.perSecond = float64(len(latencies)) / elapsed.Seconds()
	return r, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func printLoad(w io.Writer, cfg loadConfig, results []loadResult) {
	db := "SQLite"
	if cfg.databaseURL != "" {
		db = "PostgreSQL"
	}
	fmt.Fprintf(w, "Load on loopback, %d clients, each phase at most %s or %d requests a round, %d rounds of empty requests and quotes in turn after %d unmeasured of each, database %s\n\n",
		cfg.clients, cfg.duration, cfg.requests, cfg.rounds, cfg.warmup, db)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests\terrors\tper second\tp50\tp99\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t\n", r.name, r.requests, r.errors, r.perSecond,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
	}
	tw.Flush()
	if len(results) >= 2 && results[0].perSecond > 0 {
		var rounds []string
		for i, q := range results[1].rounds {
			rounds = append(rounds, fmt.Sprintf("%.0f%%", 100*q/results[0].rounds[i]))
		}
		fmt.Fprintf(w, "\nquotes reach %.0f%% of the empty handler's rate (rounds: %s; target: at least 50%%)\n",
			100*results[1].perSecond/results[0].perSecond, strings.Join(rounds, ", "))
	}
}
