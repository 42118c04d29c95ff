package api

import (
	"bytes"
	"fmt"
	"github.com/hpcalc/hpcalc/store"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// The outcomes of POST /v1/settlements counted in hpcalc_settlements_total.
const (
	outcomeCreated  = "created"  // 201: a new settlement stored
	outcomeReplayed = "replayed" // 200: the same claim sent again, the stored one returned
	outcomeConflict = "conflict" // 409: the claim_id was settled with other values
	outcomeInvalid  = "invalid"  // 400, 413, 415, 422: refused input
)

var outcomes = []string{outcomeCreated, outcomeReplayed, outcomeConflict, outcomeInvalid}

// metrics counts requests and settlements, and writes them in the Prometheus text format.
type metrics struct {
	mu          sync.Mutex
	requests    map[requestKey]*histogram
	settlements map[string]uint64
}

type requestKey struct {
	method, route string
	status        int
}

type histogram struct {
	buckets []uint64 // cumulative counts are computed on output; each counts its own range
	count   uint64
	sum     float64
}

func newMetrics() *metrics {
	m := &metrics{requests: map[requestKey]*histogram{}, settlements: map[string]uint64{}}
	for _, o := range outcomes {
		m.settlements[o] = 0
	}
	return m
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	sec := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, sec) // first bucket whose bound is ≥ sec
	m.mu.Lock()
	defer m.mu.Unlock()
	k := requestKey{method, route, status}
	h := m.requests[k]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(latencyBuckets)+1)}
		m.requests[k] = h
	}
	h.buckets[i]++
	h.count++
	h.sum += sec
}

func (m *metrics) settlement(outcome string) {
	m.mu.Lock()
	m.settlements[outcome]++
	m.mu.Unlock()
}

// write writes every metric in the Prometheus text exposition format, version 0.0.4.
func (m *metrics) write(b *bytes.Buffer) {
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	hs := make(map[requestKey]histogram, len(m.requests))
	for k, h := range m.requests {
		keys = append(keys, k)
		hs[k] = histogram{buckets: slices.Clone(h.buckets), count: h.count, sum: h.sum}
	}
	settled := make(map[string]uint64, len(m.settlements))
	for o, n := range m.settlements {
		settled[o] = n
	}
	m.mu.Unlock()
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		if c := strings.Compare(a.method, b.method); c != 0 {
			return c
		}
		return a.status - b.status
	})

	b.WriteString("# HELP hpcalc_http_requests_total HTTP requests answered, by method, route and status.\n")
	b.WriteString("# TYPE hpcalc_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(b, "hpcalc_http_requests_total{%s} %d\n", k.labels(), hs[k].count)
	}
	b.WriteString("# HELP hpcalc_http_request_duration_seconds Time to answer HTTP requests, by method, route and status.\n")
	b.WriteString("# TYPE hpcalc_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		h, l := hs[k], k.labels()
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.buckets[i]
			fmt.Fprintf(b, "hpcalc_http_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", l, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(b, "hpcalc_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", l, h.count)
		fmt.Fprintf(b, "hpcalc_http_request_duration_seconds_sum{%s} %s\n", l, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(b, "hpcalc_http_request_duration_seconds_count{%s} %d\n", l, h.count)
	}
	b.WriteString("# HELP hpcalc_settlements_total Settlement requests (POST /v1/settlements) by outcome: created, replayed, conflict, invalid.\n")
	b.WriteString("# TYPE hpcalc_settlements_total counter\n")
	for _, o := range outcomes {
		fmt.Fprintf(b, "hpcalc_settlements_total{outcome=%q} %d\n", o, settled[o])
	}
}

func (k requestKey) labels() string {
	return `method="` + escapeLabel(k.method) + `",route="` + escapeLabel(k.route) + `",status="` + strconv.Itoa(k.status) + `"`
}

// escapeLabel escapes a label value as the text format wants: backslash, quote, newline.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// writeCacheMetrics writes what the store's quote cache has done.
func writeCacheMetrics(b *bytes.Buffer, cs store.CacheStats) {
	on := 0
	if cs.On {
		on = 1
	}
	b.WriteString("# HELP hpcalc_quote_cache_on 1 while quotes read providers, persons and ledgers from memory; 0 while the store cannot follow changes made elsewhere.\n")
	b.WriteString("# TYPE hpcalc_quote_cache_on gauge\n")
	fmt.Fprintf(b, "hpcalc_quote_cache_on %d\n", on)
	b.WriteString("# HELP hpcalc_quote_cache_lookups_total Providers and person-year ledgers looked up in the quote cache, by result.\n")
	b.WriteString("# TYPE hpcalc_quote_cache_lookups_total counter\n")
	fmt.Fprintf(b, "hpcalc_quote_cache_lookups_total{result=\"hit\"} %d\n", cs.Hits)
	fmt.Fprintf(b, "hpcalc_quote_cache_lookups_total{result=\"miss\"} %d\n", cs.Misses)
}

// serveMetrics answers GET /metrics.
func (s *server) serveMetrics(c echo.Context) error {
	var b bytes.Buffer
	s.metrics.write(&b)
	writeCacheMetrics(&b, s.store.CacheStats())
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", b.Bytes())
}
