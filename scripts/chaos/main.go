// Command chaos runs flash sales in the services mode while injecting real
// faults at random moments drawn from a seed it prints, lets the sales
// settle, and checks the promises I1-I5 (docs/architecture.md) with the
// reconciliation, plus A1: every shopper told 202 gets an order, and A2:
// every stock adjustment told 200 succeed (or 202) is applied exactly
// once. While the shoppers buy, an admin adds and removes units of the
// sale (admin.go), through the same faults; every other sale gives 10 s to
// pay (-unpaid), so that the order service cancels its orders, and returns
// their units, during the storm too.
//
//	go run ./scripts/chaos                 # the CI profile, a random seed
//	go run ./scripts/chaos -seed 7         # the same plan again
//	go run ./scripts/chaos -soak 30m       # the long run
//
// It starts its own redis-server on a free port (append-only, fsync every
// second), a second one for the dtm server's store (fsync before every
// reply, as scripts/services-up gives it), the dtm server, the order service
// and two flashsale instances, each its own process on loopback, with the
// links flashsale->dtm, dtm->orders and dtm->flashsale (the back-check,
// through a round-robin balancer) going through TCP proxies (toxiproxy as
// a library). MySQL/MariaDB is the shared server (MYSQL_ADDR, default
// 127.0.0.1:3306; MYSQL_USER, MYSQL_PASSWORD), in a database of the run's
// own, dropped at the end.
//
// The faults (see faults.go): SIGKILL and restart of each service,
// including flashsale parked between the Lua step and Submit; SIGSTOP of a
// flashsale instance past the back-check timeout; latency above dtm's
// request timeout, connection resets and a blackhole on each link; the
// stock's redis-server SIGKILLed and restarted; dtm's store restarted
// from an older snapshot of itself (lose-dtm-store: the writes since are
// lost, and the services must repair what it forgot); KILL CONNECTION of
// the order service's MySQL connections.
//
// After the storm every fault is healed, dtm's resetCronTime hurries the
// backed-off branches (as an operator would), and every message must be
// final within -settle (60 s) of the last fault's healing, or the run fails
// naming the stuck gids. It prints a summary and exits 1 on any failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

// errFailed is returned when the run broke a promise or did not settle.
var errFailed = errors.New("chaos run failed")

// run is one chaos run: it prints its progress and summary to stdout and
// returns errFailed (wrapped with the reasons) when the run failed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseOptions(args, getenv)
	if err != nil {
		return err
	}
	// The storm's actors (faults, admin, sales) print from their own
	// goroutines.
	stdout = &lockedWriter{w: stdout}
	if o.redisServer, err = exec.LookPath(o.redisServer); err != nil {
		return fmt.Errorf("redis-server is needed (the run starts its own): %w", err)
	}
	fmt.Fprintf(stdout, "chaos: seed %d (rerun: go run ./scripts/chaos -seed %d%s), profile %s, storm %s, sales of %d units for %d shoppers every %s, faults every %s-%s\n",
		o.seed, o.seed, map[bool]string{true: " -soak " + o.storm.String(), false: ""}[strings.HasPrefix(o.profile, "soak")]+map[bool]string{true: " -cluster"}[o.cluster],
		o.profile, o.storm, o.units, o.buyers, o.round, o.gapMin, o.gapMax)
	ownDir := o.workdir == ""
	if ownDir {
		if o.workdir, err = os.MkdirTemp("", "flashsale-chaos-"); err != nil {
			return err
		}
	}
	failed := true
	defer func() {
		if !ownDir {
			return
		}
		if o.keep || failed {
			fmt.Fprintf(stdout, "chaos: logs and Redis files kept in %s\n", o.workdir)
			return
		}
		os.RemoveAll(o.workdir)
	}()
	bins, err := o.binaries()
	if err != nil {
		return err
	}
	started := time.Now()
	var st *stack
	// A port found free can be taken before the process binds it (other
	// test runs share the machine): start again on other ports.
	for try := 1; ; try++ {
		if st, err = newStack(ctx, o, bins, stdout); err == nil {
			break
		}
		if try == 3 || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(stdout, "chaos: the stack did not start (%v); again on other ports\n", firstLine(err.Error()))
	}
	defer st.close(o.keep)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		st.watchRepairs(watchCtx)
	}()
	defer func() { stopWatch(); <-watched }()
	res, err := storm(ctx, o, st, stdout)
	if err != nil {
		return err
	}
	res.wall = time.Since(started)
	if res.settled {
		res.verdict, err = st.check(ctx, res.shop, res.admin, o.units, bins.reconcile)
	} else {
		// Report what is broken all the same: a stuck message is often
		// the symptom of one.
		res.verdict, err = st.check(ctx, res.shop, res.admin, o.units, "")
	}
	if err != nil {
		return err
	}
	// The repairs the services made, counted before the stack stops.
	stopWatch()
	<-watched
	st.scrapeRepairs(ctx)
	res.repairs = st.repairTotals()
	reasons := res.failures()
	printSummary(stdout, o, res, reasons)
	if len(reasons) > 0 {
		return fmt.Errorf("%w (seed %d): %s", errFailed, o.seed, strings.Join(reasons, "; "))
	}
	failed = false
	return nil
}

// lockedWriter serializes the writes to w.
type lockedWriter struct {
	mu sync.Mutex // mu guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
