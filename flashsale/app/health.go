package app

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// healthEvery is how often WatchHealth checks the stores; dtmEvery how
// often it asks the dtm groups for their oldest unfinished message. dtm
// answers a listing by status by scanning its whole store (a week of
// finished messages, dtmconf.FinishedDataExpire), one command at a time
// on a single-threaded Redis, while purchases wait behind it: once a
// minute per instance, like the repair's fallback pass, is what the
// alerting rules' windows (a minute and more) can bear.
const (
	healthEvery = 15 * time.Second
	dtmEvery    = 4 // checks: once a minute
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
