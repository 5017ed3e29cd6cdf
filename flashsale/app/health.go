package app

import (
	"context"
	"time"
)

// healthEvery is how often WatchHealth checks the stores.
const healthEvery = 15 * time.Second

// WatchHealth records whether Redis and MySQL answer, every healthEvery,
// until ctx ends (metrics.Health). The age of each dtm group's oldest
// unfinished message comes from the repair's passes (repair.Repairer's
// Unsettled), which look up every message in flight anyway: asking dtm
// for it apart, by a listing filtered by status, made dtm read its whole
// store each time (docs/benchmarks.md).
func (s *Service) WatchHealth(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		s.checkHealth(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) checkHealth(ctx context.Context) {
	h := s.deps.Metrics.Health
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h.SetStoreReady("redis", s.deps.Stock.Ping(ctx))
	h.SetStoreReady("mysql", s.catalog.Ping(ctx))
}
