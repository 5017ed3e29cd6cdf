package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/orders/sqldb"
	"github.com/redis/go-redis/v9"
)

// This file measures the ceilings, on the same machine in the same run:
// a bare gin handler behind the same generator, the Redis take script
// called as the project calls it, and MariaDB's barrier+order transactions.

// bareCeiling runs the generator against the bare gin handler
// (benchsvc bare, its own process) with the same requests as the sold-out
// path.
func (r *runner) bareCeiling(ctx context.Context) error {
	var addr string
	var p *proc.Process
	err := r.st.start("bare", func(ports []int) *proc.Process {
		addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
		p = r.st.benchsvc("bare", "http://"+addr+"/healthz", "bare", "-addr", addr)
		return p
	}, 1)
	if err != nil {
		return err
	}
	defer r.st.stop(p)
	tokens := mintTokens(r.cfg.JWTSecret, "bare", 1000)
	reqs := buyRequests(addr, 1, tokens, nil)
	for _, c := range r.cfg.Conns {
		l := r.load(fmt.Sprintf("bare gin handler @%d", c), addr, reqs, c)
		l.Duration, l.Warmup = r.cfg.Steady, r.cfg.Warmup
		res, err := r.measure(ctx, l, false)
		if err != nil {
			return err
		}
		r.rep.Ceilings.Bare = append(r.rep.Ceilings.Bare, res)
		if err := r.wrkSteady(ctx, res, addr, reqs); err != nil {
			return err
		}
	}
	return nil
}

// evalHook notes the last script call (FCALL, or EVALSHA where the server
// has no functions) a client sends: the take script's, with its keys and
// arguments, as rediscache.Stock.Take sends it.
type evalHook struct{ args atomic.Value }

func (h *evalHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *evalHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *evalHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "fcall" || n == "evalsha" {
			h.args.Store(slices.Clone(cmd.Args()))
		}
		return next(ctx, cmd)
	}
}

// evalActivity is the made-up activity whose keys the script ceiling uses
// (no such activity exists in MySQL; its keys are in the run's database).
const evalActivity = 999_000_001

// evalCeilings runs the project's take script on go-redis v9 with the
// project's client options: Stock.Take itself, unpipelined (one round trip
// each: FCALL of the buy path's function library), then the same call in
// pipelines of cfg.Pipeline. Barrier keys expire after a minute.
func (r *runner) evalCeilings(ctx context.Context) error {
	opts := redisconn.Options{Addrs: r.st.redisAddr, DB: r.st.redisDB}
	rdb := redisconn.Open(opts)
	defer rdb.Close()
	stock := rediscache.NewStock(rdb, time.Minute, rediscache.OneShard)
	if err := stock.Preheat(ctx, evalActivity, 1, 1<<40); err != nil {
		return err
	}
	// Learn the script's SHA, keys and arguments from a Take on a client
	// that notes them, so that the pipelined run sends what Take sends
	// (with a fresh barrier key each time) whatever the script becomes.
	hooked := redisconn.Open(opts)
	hook := &evalHook{}
	hooked.AddHook(hook)
	err := rediscache.NewStock(hooked, time.Minute, rediscache.OneShard).Take(ctx, evalActivity, "calibrate")
	hooked.Close()
	call, _ := hook.args.Load().([]any)
	barrierAt := slices.Index(call, any(contract.BarrierKey(evalActivity, 0, "calibrate")))
	if err != nil || barrierAt < 0 {
		return fmt.Errorf("calibrating the take script: %v (call %v)", err, call)
	}

	res, err := r.runOps(ctx, fmt.Sprintf("take script, %d conns", r.cfg.EvalConns), r.cfg.EvalConns, r.cfg.EvalDuration,
		func(ctx context.Context, g, i int) (int, error) {
			return 1, stock.Take(ctx, evalActivity, "u"+strconv.Itoa(g)+"-"+strconv.Itoa(i))
		})
	if err != nil {
		return err
	}
	r.rep.Ceilings.EvalSha = res

	p := r.cfg.Pipeline
	res, err = r.runOps(ctx, fmt.Sprintf("take script, %d conns, P%d", r.cfg.EvalConns, p), r.cfg.EvalConns, r.cfg.EvalDuration,
		func(ctx context.Context, g, i int) (int, error) {
			pipe := rdb.Pipeline()
			cmds := make([]*redis.Cmd, p)
			for k := range cmds {
				args := slices.Clone(call)
				args[barrierAt] = contract.BarrierKey(evalActivity, 0, "p"+strconv.Itoa(g)+"-"+strconv.Itoa(i)+"-"+strconv.Itoa(k))
				cmds[k] = pipe.Do(ctx, args...)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return 0, err
			}
			for _, c := range cmds {
				if v, _ := c.Text(); v != "OK" {
					return 0, fmt.Errorf("take script answered %q", v)
				}
			}
			return p, nil
		})
	if err != nil {
		return err
	}
	r.rep.Ceilings.EvalShaPipelined = res
	return nil
}

// sqlCeiling runs the order service's branch (barrier row, order row, DB
// stock decrement: orders/sqldb.Store.Create, which commits the branches
// in flight together in groups) from cfg.SQLConns goroutines on one
// activity, as the burst does. It writes to a database of its own on the
// same server: its orders have no dtm message, and in the services'
// database the repair, which reads every recent activity, would take them
// for purchases whose messages dtm forgot and send them all again while
// the other runs go.
func (r *runner) sqlCeiling(ctx context.Context) error {
	const activity = 1
	gdb, err := sqlconn.OpenMySQL(ctx, r.st.ceilingDSN(), r.cfg.SQLConns)
	if err != nil {
		return err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if err := contract.CreateStock(ctx, sqlDB, activity, 10_000_000); err != nil {
		return err
	}
	a := struct{ ID, ProductID, Price int64 }{activity, 1, 100}
	store := sqldb.New(gdb)
	res, err := r.runOps(ctx, fmt.Sprintf("MariaDB order branches (grouped), %d conns", r.cfg.SQLConns), r.cfg.SQLConns, r.cfg.SQLDuration,
		func(ctx context.Context, g, i int) (int, error) {
			user := "q" + strconv.Itoa(g) + "_" + strconv.Itoa(i)
			bb := &dtmcli.BranchBarrier{TransType: "msg", Gid: contract.PurchaseGID(a.ID, user), BranchID: "01", Op: "action"}
			return 1, store.Create(ctx, bb, contract.OrderRequest{ActivityID: a.ID, UserID: user, ProductID: a.ProductID, Price: a.Price})
		})
	if err != nil {
		return err
	}
	r.rep.Ceilings.SQL = res
	return nil
}

// runOps runs op from conns goroutines for dur and reports it as a load:
// op's count of operations per call, its latency per call, errors apart.
func (r *runner) runOps(ctx context.Context, name string, conns int, dur time.Duration, op func(ctx context.Context, g, i int) (int, error)) (Result, error) {
	r.quiet(ctx)
	procs := r.procs()
	snap := procs.snapshot()
	dbBefore := dbSnapshot(ctx, r.st.server)
	res := Result{Name: name, Conns: conns, LoadAvg: loadAvg(), Start: time.Now()}
	var stop atomic.Bool
	timer := time.AfterFunc(dur, func() { stop.Store(true) })
	defer timer.Stop()
	hists := make([]*Histogram, conns)
	okOps := make([]int64, conns)
	errs := make([]int64, conns)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for g := range conns {
		hists[g] = NewHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				t0 := time.Now()
				n, err := op(ctx, g, i)
				d := time.Since(t0)
				if err != nil {
					errs[g]++
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				for range n {
					hists[g].Record(d)
				}
				okOps[g] += int64(n)
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(res.Start).Seconds()
	all := NewHistogram()
	var ok, failed int64
	for g := range conns {
		all.Merge(hists[g])
		ok += okOps[g]
		failed += errs[g]
	}
	res.Requests = ok + failed
	res.RPS = float64(ok) / res.Seconds
	res.Latency = all.Summary()
	res.Status = map[string]int64{"ok": ok}
	if failed > 0 {
		res.Status["error"] = failed
	}
	res.CPU, res.TCPOpens = procs.cpuSince(snap, res.Requests)
	res.DB = dbSince(ctx, r.st.server, dbBefore)
	fmt.Fprintf(r.log, "  %-40s %9.0f ops/s  p99 %.2f ms  errors %d\n", name, res.RPS, res.Latency.P99, failed)
	if e, _ := firstErr.Load().(string); e != "" && failed > ok/100 {
		return res, errors.New(name + ": " + e)
	}
	return res, ctx.Err()
}
