package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/console"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

const serveHelp = `
Serve runs the settlement API and, at /, the browser console: township health centres settle patients at discharge,
auditors and finance staff read reports. With no flags it keeps its data in ./hpcalc.db
(an embedded SQLite database, created and migrated at start) and listens on
127.0.0.1:8080. --database-url postgres://... (or DATABASE_URL) uses PostgreSQL instead.

--load-fixtures loads the shipped 2018 policy, persons and providers into an empty
database and prints an admin token. --pprof-addr (or HPCALC_PPROF_ADDR), off unless set,
serves Go's profiles (net/http/pprof, /debug/pprof/) on an address of its own, never on the
API's: keep it on loopback. The console's cookies are Secure when the server speaks TLS;
behind a reverse proxy that terminates HTTPS, --trust-proxy ADDRS (or HPCALC_TRUST_PROXY:
addresses or CIDR ranges, comma-separated) believes those proxies' X-Forwarded-Proto and
X-Forwarded-For, and --secure-cookies (or HPCALC_SECURE_COOKIES=1) marks them Secure
always. SIGTERM or SIGINT stops the server after the requests
in flight finish.`

// storeFlags are the flags of every command that opens the database.
type storeFlags struct {
	databaseURL string
	// observer, if set, times every statement the store runs (loadtest --soak);
	// opened, if set, is given the store once it is open and migrated.
	observer *store.Observer
	opened   func(*store.Store)
}

func (f *storeFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&f.databaseURL, "database-url", envOr("DATABASE_URL", "hpcalc.db"),
		"PostgreSQL URL (postgres://...) or SQLite file path; env DATABASE_URL")
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// openExisting opens the database for a command that only reads: it creates nothing, and
// refuses a database that does not exist or lacks the schema, naming it.
func (f *storeFlags) openExisting(ctx context.Context) (*store.Store, error) {
	s, err := store.OpenExisting(ctx, f.databaseURL)
	if err != nil {
		return nil, err
	}
	s.ReadPolicy = policyfile.Parse
	return s, nil
}

// open opens and migrates the database, creating it if need be.
func (f *storeFlags) open(ctx context.Context, stderr io.Writer) (*store.Store, error) {
	var (
		s   *store.Store
		err error
	)
	if f.observer != nil {
		s, err = store.OpenObserved(ctx, f.databaseURL, f.observer)
	} else {
		s, err = store.Open(ctx, f.databaseURL)
	}
	if err != nil {
		return nil, err
	}
	s.ReadPolicy = policyfile.Parse
	applied, err := s.Migrate(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	for _, m := range applied {
		fmt.Fprintf(stderr, "hpcalc: applied migration %s\n", m)
	}
	if f.opened != nil {
		f.opened(s)
	}
	return s, nil
}

type serveConfig struct {
	store        storeFlags
	addr         string
	logFormat    string
	loadFixtures bool
	pprofAddr    string            // empty: no profiling listener
	pprofReady   func(addr string) // tests: called with the profiling listener's address
	// The console's cookies: Secure always, or behind these proxies when they say https.
	secureCookies bool
	trustProxy    []netip.Prefix
}

func runServe(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stdout, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return serve(ctx, cfg, stdout, stderr, nil)
}

func parseServe(args []string, stdout, stderr io.Writer) (serveConfig, error) {
	fs := newFlagSet("serve", serveHelp, stdout, stderr)
	var cfg serveConfig
	cfg.store.register(fs)
	fs.StringVar(&cfg.addr, "addr", envOr("HPCALC_ADDR", "127.0.0.1:8080"), "address to listen on; env HPCALC_ADDR")
	fs.StringVar(&cfg.logFormat, "log-format", envOr("HPCALC_LOG_FORMAT", "text"), "log format: text or json; env HPCALC_LOG_FORMAT")
	fs.BoolVar(&cfg.loadFixtures, "load-fixtures", false, "load the shipped policy, persons and providers into an empty database and print an admin token")
	fs.StringVar(&cfg.pprofAddr, "pprof-addr", os.Getenv("HPCALC_PPROF_ADDR"), "serve net/http/pprof on this `address` (e.g. 127.0.0.1:6060); off if empty; env HPCALC_PPROF_ADDR")
	fs.BoolVar(&cfg.secureCookies, "secure-cookies", envBool("HPCALC_SECURE_COOKIES"),
		"mark the console's cookies Secure on every request (HTTPS served by a proxy); env HPCALC_SECURE_COOKIES=1")
	trust := fs.String("trust-proxy", os.Getenv("HPCALC_TRUST_PROXY"),
		"comma-separated `addresses` or CIDR ranges of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For the console believes; env HPCALC_TRUST_PROXY")
	if err := parseFlags(fs, args, stdout); err != nil {
		return cfg, err
	}
	var err error
	cfg.trustProxy, err = parseProxies(*trust)
	return cfg, err
}

// envBool reads a yes/no environment variable: 1, true or yes (any case) is yes.
func envBool(name string) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// parseProxies reads --trust-proxy: addresses (one host each) and CIDR ranges.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trust-proxy %q: want an IP address or a CIDR range such as 10.0.0.0/8", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// serve runs the API until ctx is cancelled, then shuts down gracefully. ready, if not
// nil, is called with the address once the server listens.
func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer, ready func(addr string)) error {
	var handler slog.Handler
	switch cfg.logFormat {
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	default:
		return fmt.Errorf("--log-format %q: want text or json", cfg.logFormat)
	}
	logger := slog.New(handler)

	s, err := cfg.store.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetLogger(logger)
	s.Follow()
	if cfg.loadFixtures {
		token, err := loadFixtures(ctx, s)
		if errors.Is(err, errNotEmpty) {
			return fmt.Errorf("%w; to get an admin token for it, run: %s", err, cfg.store.tokenCommand())
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Loaded the shipped policy, persons and providers.\nAdmin token (shown once): %s\n", token)
	} else if err := tellNoAdmin(ctx, s, cfg.store, logger); err != nil {
		return err
	}

	if cfg.pprofAddr != "" {
		stop, err := servePprof(cfg.pprofAddr, logger, cfg.pprofReady)
		if err != nil {
			return err
		}
		defer stop()
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	operations := ops.New(s)
	con, err := console.New(console.Config{Store: s, Ops: operations, Logger: logger,
		SecureCookies: cfg.secureCookies, TrustProxy: cfg.trustProxy})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           con.Handler(api.New(api.Config{Store: s, Ops: operations, Logger: logger})),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	logger.Info("listening", "addr", ln.Addr().String(), "database", s.Dialect())
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// tellNoAdmin warns, with the command that makes one, when no admin token is on file:
// without one nobody can call the API, and nothing else would say so.
func tellNoAdmin(ctx context.Context, s *store.Store, sf storeFlags, logger *slog.Logger) error {
	tokens, err := s.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.Role == store.RoleAdmin && t.RevokedAt == nil {
			return nil
		}
	}
	logger.Warn("no admin token is on file, so nobody can call the API yet; make one with: "+sf.tokenCommand(),
		"command", sf.tokenCommand())
	return nil
}

// tokenCommand is the command that makes an admin token for the database of f. A
// PostgreSQL URL is not repeated, since it may hold a password.
func (f storeFlags) tokenCommand() string {
	const cmd = "hpcalc token create --role admin"
	switch {
	case strings.HasPrefix(f.databaseURL, "postgres://") || strings.HasPrefix(f.databaseURL, "postgresql://"):
		return cmd + " --database-url <this PostgreSQL URL> (or with DATABASE_URL set)"
	case f.databaseURL == "hpcalc.db" && os.Getenv("DATABASE_URL") == "":
		return cmd
	}
	return cmd + " --database-url " + shellQuote(f.databaseURL)
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain path characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:+=,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errNotEmpty is loadFixtures' refusal of a database that already has policies.
var errNotEmpty = errors.New("--load-fixtures: the database already has policies; it loads only into an empty database")

// servePprof serves net/http/pprof's handlers on addr, on a mux of their own so that they
// never reach the API's address, until stop is called. (Importing net/http/pprof also
// registers them on http.DefaultServeMux, which nothing here serves.)
func servePprof(addr string, logger *slog.Logger, ready func(string)) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	// No write timeout: a CPU profile or trace streams for as long as it was asked for.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("serving profiles", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	if ready != nil {
		ready(ln.Addr().String())
	}
	return func() { _ = srv.Close() }, nil
}

// loadFixtures loads the shipped policy, persons and providers into an empty database
// and returns a new admin token.
func loadFixtures(ctx context.Context, s *store.Store) (string, error) {
	existing, err := s.Policies(ctx)
	if err != nil {
		return "", err
	}
	if len(existing.Policies()) > 0 {
		return "", errNotEmpty
	}
	d, err := fixtures.Load()
	if err != nil {
		return "", err
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		return "", err
	}
	for _, p := range d.Policies.Policies() {
		if err := s.PublishPolicy(ctx, p, doc); err != nil {
			return "", err
		}
	}
	persons := make([]calc.Person, 0, len(d.Persons))
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	if err := s.UpsertPersons(ctx, persons); err != nil {
		return "", err
	}
	providers := make([]calc.Provider, 0, len(d.Providers))
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	if err := s.UpsertProviders(ctx, providers); err != nil {
		return "", err
	}
	return s.CreateToken(ctx, store.Token{Role: store.RoleAdmin, Note: "created by --load-fixtures"})
}
