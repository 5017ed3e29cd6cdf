// Package metrics holds the order service's Prometheus metrics, in a
// registry of its own (no package state), and the middleware that serves
// them at /metrics and records the purchase message's branch calls.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/statuswriter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CancellationResubmitted is the kind of repair of a cancellation that
// dtm's store forgot, re-submitted: the label of the repairs counter.
const CancellationResubmitted = "cancellation_resubmitted"

// Metrics are the order service's metrics.
type Metrics struct {
	reg *prometheus.Registry
	// CreateSeconds is the latency of the createOrder branch, by HTTP
	// status code.
	CreateSeconds *prometheus.HistogramVec
	// Created counts createOrder calls answered 200: orders created. A
	// branch that dtm calls again after losing its answer commits nothing
	// the second time (the SQL barrier) but is answered 200 and counted
	// again; dtm does that only after a failure, never in a healthy sale.
	Created prometheus.Counter
	// SettlementLag is the time from a purchase's prepare (the
	// Flashsale-Prepared-At header that dtm forwards) to its order
	// committed.
	SettlementLag prometheus.Histogram
	// Repairs counts the cancellations re-submitted because dtm's store
	// forgot them (expiry.Canceller.Repair).
	Repairs *prometheus.CounterVec
}

// New returns the metrics, registered in a new registry.
func New() *Metrics {
	buckets := []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10, 30, 60}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		CreateSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orders_create_seconds", Help: "Latency of the createOrder branch, by HTTP status.", Buckets: buckets,
		}, []string{"code"}),
		Created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_created_total", Help: "Orders created (createOrder branch calls answered 200).",
		}),
		SettlementLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "orders_settlement_lag_seconds", Help: "Time from a purchase's prepare to its order committed.", Buckets: buckets,
		}),
	}
	m.Repairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orders_repairs_total", Help: "Repairs of transactions a store forgot, by kind (cancellation_resubmitted).",
	}, []string{"kind"})
	m.Repairs.WithLabelValues(CancellationResubmitted) // at 0, so that the first repair counts as an increase
	m.reg.MustRegister(m.CreateSeconds, m.Created, m.SettlementLag, m.Repairs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Wrap returns h serving GET /metrics itself and recording every call of
// the createOrder branch.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	scrape := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/metrics" && r.Method == http.MethodGet:
			scrape.ServeHTTP(w, r)
		case r.URL.Path == contract.RouteCreateOrder:
			start := time.Now()
			sw := statuswriter.New(w)
			h.ServeHTTP(sw, r)
			m.observe(sw.Code(), start, r.Header.Get(contract.PreparedAtHeader))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func (m *Metrics) observe(code int, start time.Time, preparedAt string) {
	end := time.Now()
	m.CreateSeconds.WithLabelValues(strconv.Itoa(code)).Observe(end.Sub(start).Seconds())
	if code != http.StatusOK {
		return
	}
	m.Created.Inc()
	if t, err := time.Parse(time.RFC3339Nano, preparedAt); err == nil {
		m.SettlementLag.Observe(end.Sub(t).Seconds())
	}
}
