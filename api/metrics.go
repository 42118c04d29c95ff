package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// metrics are the server's Prometheus metrics, in a registry of its own so that two
// servers in one process (tests) count apart. The Go and process collectors add what
// every scraper expects (go_goroutines, process_resident_memory_bytes).
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	settlements *prometheus.CounterVec
	handler     http.Handler
}

func newMetrics(st *store.Store) *metrics {
	labels := []string{"method", "route", "status"}
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hpcalc_http_requests_total",
			Help: "HTTP requests answered, by method, route and status.",
		}, labels),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hpcalc_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route and status.",
			Buckets: latencyBuckets,
		}, labels),
		settlements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hpcalc_settlements_total",
			Help: "Settlement requests (POST /v1/settlements) by outcome: created, replayed, conflict, invalid.",
		}, []string{"outcome"}),
	}
	for _, o := range outcomes {
		m.settlements.WithLabelValues(o) // every outcome is written, 0 until it happens
	}
	m.registry.MustRegister(m.requests, m.durations, m.settlements,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st != nil {
		m.registry.MustRegister(cacheCollector{st})
	}
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.durations.WithLabelValues(method, route, s).Observe(d.Seconds())
}

func (m *metrics) settlement(outcome string) {
	m.settlements.WithLabelValues(outcome).Inc()
}

// cacheCollector reports what the store's quote cache has done, read when scraped.
type cacheCollector struct{ store *store.Store }

var (
	cacheOnDesc = prometheus.NewDesc("hpcalc_quote_cache_on",
		"1 while quotes read providers, persons and ledgers from memory; 0 while the store cannot follow changes made elsewhere.", nil, nil)
	cacheLookupsDesc = prometheus.NewDesc("hpcalc_quote_cache_lookups_total",
		"Providers and person-year ledgers looked up in the quote cache, by result.", []string{"result"}, nil)
)

func (cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheOnDesc
	ch <- cacheLookupsDesc
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.store.CacheStats()
	on := 0.0
	if cs.On {
		on = 1
	}
	ch <- prometheus.MustNewConstMetric(cacheOnDesc, prometheus.GaugeValue, on)
	ch <- prometheus.MustNewConstMetric(cacheLookupsDesc, prometheus.CounterValue, float64(cs.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(cacheLookupsDesc, prometheus.CounterValue, float64(cs.Misses), "miss")
}

// serveMetrics answers GET /metrics in the Prometheus text format (or another the
// scraper asks for in Accept).
func (s *server) serveMetrics(c echo.Context) error {
	s.metrics.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}
