package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/elide"
)

// result is what a storm produced.
type result struct {
	shop  *shop
	admin *admin
	sales []int64
	// unpaid marks the sales with shortPayTimeout: all their orders end
	// cancelled.
	unpaid   map[int64]bool
	injected map[string]int
	skipped  map[string]int
	fatal    []string
	settled  bool
	settle   time.Duration
	stuck    []string
	wall     time.Duration
	verdict  verdict
	// repairs counts the services' repairs of what dtm's store forgot, by
	// "metric{kind}" (repairs.go).
	repairs map[string]int
}

// storm runs the sales and the faults for o.storm, heals, and waits for
// settlement.
func storm(ctx context.Context, o options, st *stack, progress io.Writer) (*result, error) {
	res := &result{shop: newShop(st), admin: newAdmin(st, progress), unpaid: map[int64]bool{}}
	until := time.Now().Add(o.storm)
	var current atomic.Int64
	in := &injector{
		st: st, shop: res.shop, kinds: o.faults, log: progress,
		rng:  rand.New(rand.NewPCG(uint64(o.seed), 0xc4a05)),
		sale: func() int64 { return current.Load() },
	}
	var wg sync.WaitGroup
	if len(o.faults) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.run(ctx, until, o.gapMin, o.gapMax)
		}()
	}
	var saleErr error
	var admins sync.WaitGroup
	start := time.Now()
	for round := 0; round < int(o.storm/o.round); round++ {
		roundEnd := start.Add(time.Duration(round+1) * o.round)
		unpaid := o.unpaid > 0 && round%o.unpaid == 0
		payTimeout := map[bool]int{true: shortPayTimeout, false: longPayTimeout}[unpaid]
		act, err := res.shop.openSale(ctx, fmt.Sprintf("chaos sale %d", round+1), o.units, payTimeout)
		if err == nil {
			err = st.checkSale(act)
		}
		if err != nil {
			saleErr = err
			break
		}
		res.sales = append(res.sales, act)
		res.unpaid[act] = unpaid
		current.Store(act)
		fmt.Fprintf(progress, "chaos: %s sale %d: activity %d, %d units, %d shoppers, %d s to pay\n", time.Now().Format("15:04:05.000"), round+1, act, o.units, o.buyers, payTimeout)
		load := saleLoad{n: o.buyers, burst: o.burst, window: o.round * 8 / 10, double: o.double}
		prefix := fmt.Sprintf("r%d", round+1)
		// The admin's requests can hang (a SIGSTOPped instance): they do
		// not hold the next sale up.
		admins.Add(1)
		go func() {
			defer admins.Done()
			res.admin.run(ctx, act, prefix, o.units, load.window, rand.New(rand.NewPCG(uint64(o.seed), 1000+uint64(round+1))))
		}()
		res.shop.run(ctx, act, prefix, load, rand.New(rand.NewPCG(uint64(o.seed), uint64(round+1))))
		pause(ctx, time.Until(roundEnd))
	}
	admins.Wait()
	current.Store(0)
	fmt.Fprintf(progress, "chaos: %s sales over; waiting for the last faults to heal\n", time.Now().Format("15:04:05.000"))
	wg.Wait()
	if saleErr != nil {
		return nil, saleErr
	}
	res.injected, res.skipped, _, res.fatal = in.summary()
	// Every process must run again, whatever the faults did.
	for _, p := range st.procs() {
		if err := p.EnsureReady(ctx, stallAfter, 90*time.Second); err != nil {
			res.fatal = append(res.fatal, err.Error())
		}
	}
	_, _, healed, _ := in.summary()
	if healed.IsZero() {
		healed = time.Now()
	}
	fmt.Fprintf(progress, "chaos: %s storm over, every fault healed; waiting for settlement (bound %s)\n", time.Now().Format("15:04:05.000"), o.settle)
	acts := map[int64]bool{}
	for _, a := range res.sales {
		acts[a] = true
	}
	var err error
	res.settle, res.stuck, err = st.settle(ctx, acts, res.unpaid, healed, o.settle, progress)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	res.settled = err == nil && len(res.stuck) == 0
	if err != nil {
		res.fatal = append(res.fatal, err.Error())
	}
	return res, nil
}

// failures lists why the run failed (nothing when it passed).
func (r *result) failures() []string {
	var out []string
	out = append(out, r.fatal...)
	if !r.settled {
		out = append(out, fmt.Sprintf("liveness: %d messages not final (or sales with unpaid orders not cancelled) within the bound after the last fault healed: %s", len(r.stuck), strings.Join(elide.List(r.stuck, 20), ", ")))
	}
	if n := len(r.verdict.violations); n > 0 {
		out = append(out, fmt.Sprintf("%d violations", n))
	}
	if r.settled && r.verdict.command != "" && (r.verdict.commandExit == 0) != (r.verdict.reconciled == 0) {
		out = append(out, fmt.Sprintf("the reconcile command exited %d, but reconciliation found %d violations", r.verdict.commandExit, r.verdict.reconciled))
	}
	return out
}
