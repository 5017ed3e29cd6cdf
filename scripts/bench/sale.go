package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/redis/go-redis/v9"
)

// This file runs the project's own paths through the shopper API of the
// flashsale process: the sold-out path, the success path and the burst.

// oursSoldOut measures buys of an activity whose one unit is already sold:
// every answer is 409 from the gates, before any dtm work.
func (r *runner) oursSoldOut(ctx context.Context) error {
	a, err := r.st.newActivity(ctx, "sold-out path", 1, time.Now().Add(-time.Second))
	if err != nil {
		return err
	}
	// The one unit goes to a user of its own, and its order is created,
	// before the clock starts.
	if err := r.buyOnce(ctx, a, "sow0"); err != nil {
		return err
	}
	if _, err := waitCount(ctx, r.orders(a.ID), 1, r.cfg.SettleTimeout); err != nil {
		return fmt.Errorf("the sold-out path's one order: %w", err)
	}
	reqs, err := r.requests(ctx, a, "so", r.cfg.SoldOutUsers)
	if err != nil {
		return err
	}
	for i, c := range r.cfg.Conns {
		l := r.load(fmt.Sprintf("ours sold-out @%d", c), r.st.shopperAddr(), reqs, c)
		l.Duration, l.Warmup = r.cfg.Steady, r.cfg.Warmup
		res, err := r.measure(ctx, l, i == len(r.cfg.Conns)-1, "flashsale")
		if err != nil {
			return err
		}
		r.rep.Ours.SoldOut = append(r.rep.Ours.SoldOut, res)
		if err := r.wrkSteady(ctx, res, r.st.shopperAddr(), reqs); err != nil {
			return err
		}
	}
	r.check(ctx, "ours sold-out", a.ID)
	return nil
}

// oursSuccess measures buys that all get a unit (stock plentiful, one buy
// per user), then waits for their orders: on an activity of one shard,
// then, with -shards, on one of that many shards.
func (r *runner) oursSuccess(ctx context.Context) error {
	runs, err := r.successRuns(ctx, 1)
	if err != nil {
		return err
	}
	r.rep.Ours.Success = runs
	if r.cfg.Shards > 1 {
		if r.rep.Ours.Sharded, err = r.successRuns(ctx, r.cfg.Shards); err != nil {
			return err
		}
	}
	return nil
}

// successRuns runs the success path at every connection count on an
// activity of shards shards.
func (r *runner) successRuns(ctx context.Context, shards int) ([]SuccessRun, error) {
	a, err := r.st.newActivity(ctx, "success path", 10_000_000, time.Now().Add(-time.Second), shards)
	if err != nil {
		return nil, err
	}
	var runs []SuccessRun
	name := "ours success"
	if shards > 1 {
		name = fmt.Sprintf("ours success K=%d", shards)
	}
	for i, c := range r.cfg.Conns {
		reqs, err := r.requests(ctx, a, fmt.Sprintf("s%dk%d_", c, shards), r.cfg.SuccessBuys)
		if err != nil {
			return nil, err
		}
		before, err := r.orders(a.ID)(ctx)
		if err != nil {
			return nil, err
		}
		l := r.load(fmt.Sprintf("%s @%d", name, c), r.st.shopperAddr(), reqs, c)
		l.Total, l.Winner = int64(len(reqs)), http.StatusAccepted
		res, err := r.measure(ctx, l, i == len(r.cfg.Conns)-1 && shards == 1, "flashsale", "dtm", "orders")
		if err != nil {
			return nil, err
		}
		run := SuccessRun{Result: res}
		end := res.Start.Add(time.Duration(res.Seconds * float64(time.Second)))
		// Counted once the load is over: no 202 comes after it.
		at, err := waitCount(ctx, r.orders(a.ID), before+res.Count(http.StatusAccepted), r.cfg.SettleTimeout)
		if err != nil {
			return nil, fmt.Errorf("%s: orders: %w", l.Name, err)
		}
		run.SettledSeconds = max(0, at.Sub(end).Seconds())
		run.DB = dbSince(ctx, r.st.server, res.dbBefore)
		run.Redis = redisSince(ctx, r.st.rdb, res.redisBefore)
		run.Shards = shards
		runs = append(runs, run)
		if shards == 1 {
			if err := r.wrkOursSuccess(ctx, res); err != nil {
				return nil, err
			}
		}
	}
	r.check(ctx, name, a.ID)
	if shards == 1 {
		r.wrkCheck(ctx)
	}
	return runs, nil
}

// oursBurst replays the sale: an activity opening at a set instant, the
// users' secrets fetched once it opens, then Buys requests at once.
func (r *runner) oursBurst(ctx context.Context) error {
	b := r.cfg.Burst
	open := time.Now().Add(r.cfg.Lead)
	a, err := r.st.newActivity(ctx, "burst", b.Units, open)
	if err != nil {
		return err
	}
	tokens := mintTokens(r.cfg.JWTSecret, "b", b.Users)
	time.Sleep(time.Until(open))
	bodies, err := r.secrets.Bodies(ctx, a.ID, tokens)
	if err != nil {
		return err
	}
	reqs := buyRequests(r.st.shopperAddr(), a.ID, tokens, bodies)
	l := r.load("ours burst", r.st.shopperAddr(), reqs, b.Conns)
	l.Total, l.Winner = int64(b.Buys), http.StatusAccepted

	stock := func(ctx context.Context) (int64, error) {
		return r.st.rdb.Get(ctx, contract.StockKey(a.ID, 0)).Int64()
	}
	w := watchStock(ctx, stock)
	orders := watchCount(ctx, r.orders(a.ID), burstPoll)
	res, err := r.measure(ctx, l, true, "flashsale", "dtm", "orders")
	if err != nil {
		w.stop()
		orders.reached(ctx, 0, 0)
		return err
	}
	run := BurstRun{Result: res, Units: b.Units, Users: b.Users}
	left, err := stock(ctx)
	if err != nil {
		w.stop()
		orders.reached(ctx, 0, 0)
		return err
	}
	run.Sold = int64(b.Units) - left
	settled, err := orders.reached(ctx, run.Sold, r.cfg.SettleTimeout)
	run.setTimes(w.stop(), settled)
	if err != nil {
		return fmt.Errorf("burst orders: %w", err)
	}
	run.DB = dbSince(ctx, r.st.server, res.dbBefore)
	run.Redis = redisSince(ctx, r.st.rdb, res.redisBefore)
	if pid := r.st.pids["flashsale"]; pid > 0 {
		rss, peak, err := procMemory(pid)
		if err == nil {
			r.rep.FlashsaleRSS = RSS{NowMB: mb(rss), PeakMB: mb(peak)}
		}
	}
	r.rep.Ours.Burst = &run
	r.check(ctx, "ours burst", a.ID)
	return nil
}

// buyOnce buys one unit of a for user, outside any measured run.
func (r *runner) buyOnce(ctx context.Context, a activity, user string) error {
	tokens := mintTokens(r.cfg.JWTSecret, user, 1)
	bodies, err := r.secrets.Bodies(ctx, a.ID, tokens)
	if err != nil {
		return err
	}
	body := "{}"
	if bodies != nil {
		body = bodies[0]
	}
	resp, err := r.st.shopperAPI().BuyWithBodyWithResponse(ctx, a.ID, nil, "application/json", strings.NewReader(body), api.Bearer(tokens[0]))
	if err := api.Expect("buy", resp, err, http.StatusAccepted); err != nil {
		return fmt.Errorf("buy the one unit: %w", err)
	}
	return nil
}

// requests mints n users' tokens, fetches their secrets and builds their
// buy requests for a.
func (r *runner) requests(ctx context.Context, a activity, prefix string, n int) ([][]byte, error) {
	tokens := mintTokens(r.cfg.JWTSecret, prefix, n)
	bodies, err := r.secrets.Bodies(ctx, a.ID, tokens)
	if err != nil {
		return nil, err
	}
	return buyRequests(r.st.shopperAddr(), a.ID, tokens, bodies), nil
}

// orders returns a counter of act's orders.
func (r *runner) orders(act int64) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) { return orderCount(ctx, r.st.db, act) }
}

// check reconciles act once its messages have settled and records it.
func (r *runner) check(ctx context.Context, path string, act int64) {
	src := reconcile.Sources{Redis: redis.UniversalClient(r.st.rdb), DB: r.st.db, DTM: r.st.dtmURL(),
		HTTP: &http.Client{Timeout: time.Minute}}
	inv := settleAndCheck(ctx, src, path, act, r.cfg.SettleTimeout)
	fmt.Fprintf(r.log, "bench: %s reconciled: ok=%v %s", path, inv.OK, inv.Report)
	r.rep.Invariants = append(r.rep.Invariants, inv)
}
