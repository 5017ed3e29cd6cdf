package app

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// healthEvery is how often WatchHealth checks: often enough for the
// alerting rules (whose windows are a minute and more), rare enough that
// its listings cost the dtm servers little (two filtered listings per
// group, which dtm answers by scanning its store).
const healthEvery = 15 * time.Second

// WatchHealth records what the alerting rules read until ctx ends: every
// healthEvery, whether Redis and MySQL answer and the age of each dtm
// group's oldest unfinished message (metrics.Health).
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
	ctx, cancel := context.WithTimeout(ctx, healthEvery)
	defer cancel()
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	h.SetStoreReady("redis", s.deps.Stock.Ping(pctx))
	h.SetStoreReady("mysql", s.catalog.Ping(pctx))
	pcancel()
	groups := dtmclient.ParseGroups(s.cfg.DTMServer)
	oldest, err := dtmclient.OldestUnsettled(ctx, s.recon.HTTP, groups, s.cfg.InternalKey)
	if err != nil && ctx.Err() == nil {
		s.deps.Log.Debug("oldest unfinished dtm messages", "err", err)
	}
	h.SetDTMOldest(groups, oldest, time.Now())
}
