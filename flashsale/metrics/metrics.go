// Package metrics holds the flashsale service's Prometheus metrics, in a
// registry of its own (no package state), served at /metrics.
package metrics

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Metrics are the service's metrics.
type Metrics struct {
	reg *prometheus.Registry
	// Buys counts answered buys by outcome: the error code, or "accepted".
	Buys *prometheus.CounterVec
	// GateRejects counts buys turned away before the purchase by reason.
	GateRejects *prometheus.CounterVec
	// BuyRedisCalls counts the Redis commands the buy path sends.
	BuyRedisCalls prometheus.Counter
	// BuySeconds is the buy handler's latency.
	BuySeconds prometheus.Histogram
	// LuaSeconds is the latency of the purchase's Lua call (the local step).
	LuaSeconds prometheus.Histogram
	// DTMSeconds is the latency of the purchase's calls to the dtm server,
	// by call (see ObserveDTM).
	DTMSeconds *prometheus.HistogramVec
	// Sales tallies buys per activity for the admin's sale view.
	Sales *Sales
	// Repairs counts the repairs of what a store forgot, by kind
	// (package repair).
	Repairs *prometheus.CounterVec
	// StockUnits is the units left per activity, fed by the sold-out
	// poll (ObserveStock).
	StockUnits *prometheus.GaugeVec
	// Health holds what the alerting rules read besides the above.
	Health
}

// New returns the metrics, registered in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Buys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashsale_buys_total", Help: "Buys answered, by outcome (accepted or the error code).",
		}, []string{"outcome"}),
		GateRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashsale_gate_rejections_total", Help: "Buys turned away before any dtm work, by gate.",
		}, []string{"reason"}),
		BuyRedisCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flashsale_buy_redis_commands_total", Help: "Redis commands sent on the buy path.",
		}),
		BuySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flashsale_buy_seconds", Help: "Latency of the buy handler.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}),
	}
	m.reg.MustRegister(m.Buys, m.GateRejects, m.BuyRedisCalls, m.BuySeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.LuaSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "flashsale_lua_seconds", Help: "Latency of the purchase's Lua call (barrier + stock decrement).", Buckets: latencyBuckets,
	})
	m.DTMSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "flashsale_dtm_call_seconds", Help: "Latency of the purchase's calls to the dtm server, by call (prepare, submit, abort, query).", Buckets: latencyBuckets,
	}, []string{"call"})
	m.Sales = NewSales(time.Now)
	m.Repairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flashsale_repairs_total", Help: "Repairs of transactions a store forgot, by kind (purchase_resubmitted, purchase_compensated, order_recreated, adjustment_resubmitted, unrepairable).",
	}, []string{"kind"})
	m.StockUnits = newStockUnits()
	m.reg.MustRegister(m.LuaSeconds, m.DTMSeconds, m.Repairs, m.StockUnits)
	m.Health = newHealth()
	m.reg.MustRegister(m.Health.collectors()...)
	return m
}

// Repaired counts one repair of kind.
func (m *Metrics) Repaired(kind string) { m.Repairs.WithLabelValues(kind).Inc() }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

type buyPathKey struct{}

// BuyPath marks ctx as the buy path's, so that its Redis commands are
// counted.
func BuyPath(ctx context.Context) context.Context {
	return context.WithValue(ctx, buyPathKey{}, true)
}

// RedisHook returns a go-redis hook that counts the commands sent with a
// BuyPath context.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(buyPathKey{}) != nil {
			h.m.BuyRedisCalls.Inc()
		}
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(buyPathKey{}) != nil {
			h.m.BuyRedisCalls.Add(float64(len(cmds)))
		}
		return next(ctx, cmds)
	}
}
