package app

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// healthEvery is how often WatchHealth checks the stores; dtmEvery how
// often it asks the dtm groups for their oldest unfinished message. dtm
// answers a listing by status by reading its whole store (a week of
// finished messages, dtmconf.FinishedDataExpire) in one SCAN and one MGET
// of every message, on a single-threaded Redis, while purchases wait
// behind it: after a day of sales, a second of dtm's CPU and a stall of
// its store for each listing (measured in the benchmark, docs/benchmarks.md).
// Once every five minutes per instance bounds that; the alerts on the age
// fire up to five minutes late, and a stuck purchase is seen sooner by
// the settlement lag's.
const (
	healthEvery = 15 * time.Second
	dtmEvery    = 20 // checks: once every five minutes
)

// WatchHealth records what the alerting rules read until ctx ends: every
// healthEvery, whether Redis and MySQL answer and the age of each dtm
// group's oldest unfinished message (metrics.Health).
func (s *Service) WatchHealth(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		s.checkHealth(ctx, n%dtmEvery == 0)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) checkHealth(ctx context.Context, dtm bool) {
	h := s.deps.Metrics.Health
	ctx, cancel := context.WithTimeout(ctx, healthEvery)
	defer cancel()
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	h.SetStoreReady("redis", s.deps.Stock.Ping(pctx))
	h.SetStoreReady("mysql", s.catalog.Ping(pctx))
	pcancel()
	if !dtm {
		return
	}
	groups := dtmclient.ParseGroups(s.cfg.DTMServer)
	oldest, err := dtmclient.OldestUnsettled(ctx, s.recon.HTTP, groups, s.cfg.InternalKey)
	if err != nil && ctx.Err() == nil {
		s.deps.Log.Debug("oldest unfinished dtm messages", "err", err)
	}
	h.SetDTMOldest(groups, oldest, time.Now())
}
