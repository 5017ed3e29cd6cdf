package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/httpjson"
	"github.com/flashsale/flashsale/internal/proc"
)

// This file runs the reference path: dtm's flash-sale example as
// published (scripts/bench/benchsvc ref), on a dtm server as published
// (benchsvc dtm) storing in the same Redis, each its own process.

// refStockKey is the reference's stock counter, in the run's Redis
// database.
const refStockKey = "{a}--stock-bench"

// refDTMPrefix is the key prefix of the reference's dtm store, beside
// ours in dtm's store (Config.DTMStore), so that both pay the same fsync.
const refDTMPrefix = "{dtmref}"

// refStack is the reference's two processes.
type refStack struct {
	appAddr string
	hc      *http.Client
}

// startReference starts the reference's dtm server and its app.
func (r *runner) startReference(ctx context.Context) (*refStack, error) {
	st := r.st
	var dtmURL string
	err := st.start("ref-dtm", func(ports []int) *proc.Process {
		dtmURL = fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", ports[0])
		return st.benchsvc("ref-dtm", dtmURL+"/version", "dtm", "-http-port", strconv.Itoa(ports[0]), "-grpc-port", strconv.Itoa(ports[1]),
			"-redis", st.dtmStore, "-redis-prefix", refDTMPrefix, "-dir", st.dir)
	}, 2)
	if err != nil {
		return nil, err
	}
	rs := &refStack{hc: st.hc}
	err = st.start("ref-app", func(ports []int) *proc.Process {
		rs.appAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
		return st.benchsvc("ref-app", "http://"+rs.appAddr+"/healthz", "ref", "-addr", rs.appAddr, "-dtm", dtmURL, "-redis", st.redisAddr,
			"-redis-db", strconv.Itoa(st.redisDB), "-stock-key", refStockKey)
	}, 1)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// branches returns how many branches (orders) the reference app counted.
func (rs *refStack) branches(ctx context.Context) (int64, error) {
	var out struct {
		Branches int64 `json:"branches"`
	}
	err := httpjson.Get(ctx, rs.hc, "http://"+rs.appAddr+"/stats", &out)
	return out.Branches, err
}

// reference runs the reference's sold-out path, success path and burst,
// with the sizes and connections of ours.
func (r *runner) reference(ctx context.Context) error {
	rs, err := r.startReference(ctx)
	if err != nil {
		return err
	}
	setStock := func(n int64) error { return r.st.rdb.Set(ctx, refStockKey, n, 0).Err() }
	// The reference has no users, tokens or secrets: every request is the
	// same, on the path of ours (the app routes it). Its body and headers
	// are the size of ours minus the token.
	reqs := [][]byte{buildRequest("POST", rs.appAddr, buyPath(1), "", "{}")}

	if err := setStock(0); err != nil {
		return err
	}
	for _, c := range r.cfg.Conns {
		l := r.load(fmt.Sprintf("reference sold-out @%d", c), rs.appAddr, reqs, c)
		l.Duration, l.Warmup = r.cfg.Steady, r.cfg.Warmup
		res, err := r.measure(ctx, l, false)
		if err != nil {
			return err
		}
		r.rep.Reference.SoldOut = append(r.rep.Reference.SoldOut, res)
	}

	if err := setStock(1 << 40); err != nil {
		return err
	}
	for _, c := range r.cfg.Conns {
		before, err := rs.branches(ctx)
		if err != nil {
			return err
		}
		l := r.load(fmt.Sprintf("reference success @%d", c), rs.appAddr, reqs, c)
		l.Total, l.Winner = int64(r.cfg.SuccessBuys), http.StatusOK
		res, err := r.measure(ctx, l, false)
		if err != nil {
			return err
		}
		run := SuccessRun{Result: res}
		end := res.Start.Add(time.Duration(res.Seconds * float64(time.Second)))
		at, err := waitCount(ctx, rs.branches, before+res.Count(http.StatusOK), r.cfg.SettleTimeout)
		if err != nil {
			return fmt.Errorf("%s: branches: %w", l.Name, err)
		}
		run.SettledSeconds = max(0, at.Sub(end).Seconds())
		r.rep.Reference.Success = append(r.rep.Reference.Success, run)
		if err := r.wrkRefSuccess(ctx, rs, res, reqs); err != nil {
			return err
		}
	}

	b := r.cfg.Burst
	if err := setStock(int64(b.Units)); err != nil {
		return err
	}
	before, err := rs.branches(ctx)
	if err != nil {
		return err
	}
	stock := func(ctx context.Context) (int64, error) { return r.st.rdb.Get(ctx, refStockKey).Int64() }
	l := r.load("reference burst", rs.appAddr, reqs, b.Conns)
	l.Total, l.Winner = int64(b.Buys), http.StatusOK
	w := watchStock(ctx, stock)
	branches := watchCount(ctx, func(ctx context.Context) (int64, error) {
		n, err := rs.branches(ctx)
		return n - before, err
	}, burstPoll)
	res, err := r.measure(ctx, l, true, "ref-app", "ref-dtm")
	if err != nil {
		w.stop()
		branches.reached(ctx, 0, 0)
		return err
	}
	run := BurstRun{Result: res, Units: b.Units, Users: b.Users}
	left, err := stock(ctx)
	if err != nil {
		w.stop()
		branches.reached(ctx, 0, 0)
		return err
	}
	run.Sold = int64(b.Units) - left
	settled, err := branches.reached(ctx, run.Sold, r.cfg.SettleTimeout)
	run.setTimes(w.stop(), settled)
	if err != nil {
		return fmt.Errorf("reference burst branches: %w", err)
	}
	r.rep.Reference.Burst = &run
	// The reference's own bookkeeping: every unit taken got its branch
	// call, and no more.
	n, err := rs.branches(ctx)
	if err == nil && n-before != run.Sold {
		err = fmt.Errorf("%d units taken, %d branches", run.Sold, n-before)
	}
	if err != nil {
		r.rep.Notes = append(r.rep.Notes, "reference burst bookkeeping: "+err.Error())
	}
	return nil
}
