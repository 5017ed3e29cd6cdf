package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/flashsale/flashsale/reconcile"
)

// stockWatch polls a stock counter every few milliseconds and notes when it
// first reads zero: the sale's sold-out instant as the stores saw it.
type stockWatch struct {
	mu      sync.Mutex // mu guards soldOut
	soldOut time.Time
	cancel  context.CancelFunc
	done    chan struct{}
}

// watchStock starts polling get every 5 ms until stop.
func watchStock(ctx context.Context, get func(context.Context) (int64, error)) *stockWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &stockWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := get(ctx); err == nil && n <= 0 {
				w.mu.Lock()
				w.soldOut = time.Now()
				w.mu.Unlock()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// stop ends the polling and returns the sold-out instant (zero when the
// counter never reached zero).
func (w *stockWatch) stop() time.Time {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.soldOut
}

// countWatch polls a count (orders, branches) every 20 ms from before a
// run starts and notes each new value with the instant it was first read,
// so that when the count reached a figure is known however long the work
// after the run (a perf report) takes.
type countWatch struct {
	count func(context.Context) (int64, error)

	mu      sync.Mutex // mu guards seen and lastErr
	seen    []countSeen
	lastErr error
	cancel  context.CancelFunc
	done    chan struct{}
}

type countSeen struct {
	n  int64
	at time.Time
}

// watchCount starts polling count every every until reached returns.
//
// A count of orders is a COUNT(*) over the activity's rows, whose cost
// grows with them: polled every 20 ms through a success run, it was two
// thirds of MariaDB's CPU in the run's profile, charged to the orders
// (docs/benchmarks.md). So a run's orders are counted after its load
// (waitCount), and during a burst, whose orders must be timed against
// its sell-out, every burstPoll.
func watchCount(ctx context.Context, count func(context.Context) (int64, error), every time.Duration) *countWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &countWatch{count: count, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := count(ctx)
			w.mu.Lock()
			if err != nil {
				w.lastErr = err
			} else if len(w.seen) == 0 || n > w.seen[len(w.seen)-1].n {
				w.seen = append(w.seen, countSeen{n: n, at: time.Now()})
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// reached waits, up to timeout, until the count is at least want, stops
// the polling and returns the instant it was first read there.
func (w *countWatch) reached(ctx context.Context, want int64, timeout time.Duration) (time.Time, error) {
	defer func() {
		w.cancel()
		<-w.done
	}()
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		var last int64
		for _, s := range w.seen {
			if s.n >= want {
				w.mu.Unlock()
				return s.at, nil
			}
			last = s.n
		}
		err := w.lastErr
		w.mu.Unlock()
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d after %s (last error: %v)", last, want, timeout, err)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// burstPoll is how often a burst's orders are counted while it runs.
const burstPoll = 100 * time.Millisecond

// waitCount polls count every 20 ms until it reaches want and returns the
// instant it was first seen there.
func waitCount(ctx context.Context, count func(context.Context) (int64, error), want int64, timeout time.Duration) (time.Time, error) {
	return watchCount(ctx, count, 20*time.Millisecond).reached(ctx, want, timeout)
}

// Invariants is the reconciliation of one activity after its run settled.
type Invariants struct {
	Path string `json:"path"`
	// OK means no promise I1-I5 (docs/architecture.md) is broken and no message is
	// left prepared or submitted.
	OK     bool             `json:"ok"`
	Report reconcile.Report `json:"report"`
	// Error is set when the stores could not be read.
	Error string `json:"error,omitempty"`
}

// settleAndCheck waits until no message of act is left prepared or
// submitted and no promise is broken, for up to timeout, and returns the
// last reconciliation.
func settleAndCheck(ctx context.Context, src reconcile.Sources, path string, act int64, timeout time.Duration) Invariants {
	deadline := time.Now().Add(timeout)
	for {
		r, err := reconcile.Check(ctx, src, act)
		inv := Invariants{Path: path, Report: r, OK: err == nil && r.OK() && r.Unsettled() == 0}
		if err != nil {
			inv.Error = err.Error()
		}
		if inv.OK || time.Now().After(deadline) || ctx.Err() != nil {
			return inv
		}
		time.Sleep(time.Second)
	}
}
