package app

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// runner names the Redis processes behind a store (rediscache.Stock.Runs).
type runner interface {
	Runs(ctx context.Context) (string, error)
}

// sweepEvery is how often WatchStock runs Restock even when Redis did not
// restart, for a counter missing for another reason (an activity created
// while Redis was down: its preheat failed).
const sweepEvery = 30 * time.Second

// WatchStock re-derives stale stock after every restart of Redis until ctx
// ends. Every interval it reads the Redis run ids; when they changed since
// the last successful pass (or no pass succeeded yet), and every
// sweepEvery, it runs Restock, which re-derives each activity whose
// counter is missing or stale. Buys of a stale activity get 503 until
// then, and take nothing (see rediscache/epoch.go), so the interval bounds
// that window, not correctness.
func (s *Service) WatchStock(ctx context.Context, interval time.Duration) {
	rs, ok := s.deps.Stock.(runner)
	if !ok {
		return
	}
	last, swept := "", time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, interval)
		runs, err := rs.Runs(rctx)
		cancel()
		if err != nil || runs == last && time.Since(swept) < sweepEvery {
			continue
		}
		swept = time.Now()
		rctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		n, err := s.Restock(rctx)
		cancel()
		if err != nil {
			s.deps.Metrics.StockRederiveFailures.Inc()
			s.deps.Log.Warn("re-derive stale Redis stock", "err", err)
			continue
		}
		s.deps.Metrics.StockRederived.Add(float64(n))
		if n > 0 {
			s.deps.Log.Warn("re-derived stale Redis stock", "activities", n, "redis", runs)
			// A return or an addition that failed on the stale counter
			// is retried now, not after dtm's backoff.
			dtmclient.HurryRetries(ctx, s.cfg.DTMServer, s.deps.Log)
		}
		last = runs
	}
}
