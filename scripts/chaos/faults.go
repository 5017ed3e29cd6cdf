package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
)

// Fault kinds. Every one is real: a signal to a process, a KILL CONNECTION
// on the MySQL server, or a toxic on a TCP proxy the services talk through.
var faultKinds = []string{
	"kill-flashsale",            // SIGKILL an instance at a random moment, restart it
	"kill-flashsale-after-lua",  // SIGKILL an instance parked between the Lua step and Submit
	"kill-flashsale-before-lua", // ... between Prepare and the Lua step
	"stop-flashsale",            // SIGSTOP an instance past the back-check timeout, then SIGCONT
	"kill-orders",               // SIGKILL the order service, restart it
	"kill-dtm",                  // SIGKILL the dtm server, restart it
	"kill-redis",                // SIGKILL redis-server, restart it on its append-only file
	"lose-dtm-store",            // dtm's store loses its last writes: SAVE, writes, SIGKILL, restart from the snapshot
	"kill-mysql-conns",          // KILL CONNECTION every MySQL connection of the order service
	"latency-flashsale-dtm", "reset-flashsale-dtm", "blackhole-flashsale-dtm",
	"latency-dtm-orders", "reset-dtm-orders", "blackhole-dtm-orders",
	"latency-dtm-flashsale", "reset-dtm-flashsale", "blackhole-dtm-flashsale",
	// The cluster profile's (-cluster), on the master of one of the
	// sale's shards; kill-redis is the single server's.
	"kill-redis-master", // SIGKILL it: its replica takes over; restart it (it returns as a replica)
	"failover-redis",    // CLUSTER FAILOVER on its replica: a promotion without loss
	"lose-dtm-master",   // the master of dtm's store SIGKILLed, its lagging replica takes over without the last writes
}

// clusterOnly are the kinds that need the cluster profile, and
// singleOnly those that need its single Redis server.
var (
	clusterOnly = map[string]bool{"kill-redis-master": true, "failover-redis": true, "lose-dtm-master": true}
	singleOnly  = map[string]bool{"kill-redis": true, "lose-dtm-store": true}
)

// errBusy: the fault's target already has a fault.
var errBusy = errors.New("target busy")

// injector injects faults at random moments drawn from the run's seed, and
// heals each after a random duration.
type injector struct {
	st   *stack
	shop *shop
	rng  *rand.Rand
	// kinds are the enabled fault kinds.
	kinds []string
	// sale returns the sale being bought from (0 when none).
	sale func() int64
	log  io.Writer

	wg sync.WaitGroup
	mu sync.Mutex // mu guards the fields below
	// busy marks targets under a fault: "flashsale1", "orders", ...
	busy     map[string]bool
	injected map[string]int
	skipped  map[string]int
	lastHeal time.Time
	fatal    []string
	victims  int
}

// fault is one planned fault, drawn in full by the scheduler so that the
// seed alone decides the plan.
type fault struct {
	kind   string
	inst   int           // flashsale instance (0 or 1), where it applies
	down   time.Duration // how long before healing
	toxic  string        // the toxic's JSON, for network faults
	link   string
	target string
	// lag is how long the writes go on that the store then loses
	// (lose-dtm-store, lose-dtm-master); alsoDTM: lose-dtm-store kills
	// the dtm server too, before its store, and restarts it after; pick
	// chooses among the candidate masters of a cluster fault.
	lag     time.Duration
	alsoDTM bool
	pick    int
}

// run schedules faults until the storm ends, gap apart, then waits until
// every fault has healed.
func (in *injector) run(ctx context.Context, until time.Time, gapMin, gapMax time.Duration) {
	in.busy, in.injected, in.skipped = map[string]bool{}, map[string]int{}, map[string]int{}
	var bag []string
	for {
		gap := gapMin + time.Duration(in.rng.Int64N(int64(gapMax-gapMin)+1))
		if time.Now().Add(gap).After(until) || !pause(ctx, gap) {
			break
		}
		// Kinds come out of a shuffled bag, each once before any twice,
		// so that a short run still injects every kind; a kind whose
		// target is busy waits in the bag for a later turn, and when
		// every kind left waits, one from outside the bag goes instead.
		if len(bag) == 0 {
			bag = in.shuffled()
		}
		var f fault
		claimed := false
		for i, kind := range bag {
			if f = in.plan(kind); in.claim(f.target) {
				bag = append(bag[:i:i], bag[i+1:]...)
				claimed = true
				break
			}
		}
		for _, kind := range in.shuffled() {
			if claimed {
				break
			}
			f = in.plan(kind)
			claimed = in.claim(f.target)
		}
		if !claimed {
			continue
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.release(f.target, in.do(ctx, f))
		}()
	}
	in.wg.Wait()
}

// shuffled returns the enabled kinds in a random order.
func (in *injector) shuffled() []string {
	ks := append([]string(nil), in.kinds...)
	in.rng.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
	return ks
}

// plan draws a fault of kind: its target and durations.
func (in *injector) plan(kind string) fault {
	f := fault{kind: kind, inst: in.rng.IntN(2)}
	f.down = time.Duration(in.rng.Int64N(int64(3 * time.Second)))
	switch {
	case strings.Contains(f.kind, "flashsale") && strings.HasPrefix(f.kind, "kill-") || f.kind == "stop-flashsale":
		f.target = fmt.Sprintf("flashsale%d", f.inst+1)
		if f.kind == "stop-flashsale" {
			// Past the back-check: dtm back-checks 8-10 s after Prepare.
			f.down = 11*time.Second + time.Duration(in.rng.Int64N(int64(3*time.Second)))
		}
	case f.kind == "kill-orders", f.kind == "kill-mysql-conns":
		f.target = "orders"
	case f.kind == "kill-dtm":
		f.target = "dtm"
	case f.kind == "kill-redis":
		f.target = "redis"
		f.down = 500*time.Millisecond + f.down
	case f.kind == "lose-dtm-store":
		// The dtm server and its store are one target: kill-dtm waits.
		f.target = "dtm"
		f.lag = 500*time.Millisecond + time.Duration(in.rng.Int64N(int64(3*time.Second)))
		f.alsoDTM = in.rng.IntN(2) == 0
		f.down = 200*time.Millisecond + f.down/2
	case clusterOnly[f.kind]:
		f.target = "redis"
		f.down = 3*time.Second + f.down // past the node timeout and the election
		f.pick = in.rng.IntN(1 << 20)
		f.lag = 300*time.Millisecond + time.Duration(in.rng.Int64N(int64(1700*time.Millisecond)))
	default:
		kind, link, _ := strings.Cut(f.kind, "-")
		switch link {
		case "flashsale-dtm":
			f.link = []string{linkFS1DTM, linkFS2DTM}[f.inst]
		case "dtm-orders":
			f.link = linkDTMOrders
		case "dtm-flashsale":
			f.link = linkDTMFS
		}
		f.target = f.link
		f.toxic = netFaults[kind](in.rng)
		f.down = 2*time.Second + time.Duration(in.rng.Int64N(int64(6*time.Second)))
	}
	return f
}

// claim marks target busy; at most one flashsale instance is faulted at a
// time, so that the sale goes on.
func (in *injector) claim(target string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.busy[target] || strings.HasPrefix(target, "flashsale") && (in.busy["flashsale1"] || in.busy["flashsale2"]) {
		return false
	}
	in.busy[target] = true
	return true
}

// release frees target; healed tells that a fault was injected there and
// has just healed.
func (in *injector) release(target string, healed bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.busy, target)
	if healed {
		in.lastHeal = time.Now()
	}
}

func (in *injector) count(m map[string]int, kind string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	m[kind]++
}

func (in *injector) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.mu.Lock()
	in.fatal = append(in.fatal, msg)
	in.mu.Unlock()
	fmt.Fprintln(in.log, "chaos: ERROR", msg)
}

// do injects f and heals it; it reports whether it injected f.
func (in *injector) do(ctx context.Context, f fault) bool {
	st := in.st
	say := func(format string, args ...any) {
		fmt.Fprintf(in.log, "chaos: %s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	restart := func(p *proc.Process) {
		if err := p.EnsureReady(ctx, stallAfter, 90*time.Second); err != nil && ctx.Err() == nil {
			in.fail("restart %s after %s: %v", p.Name, f.kind, err)
		}
	}
	switch f.kind {
	case "kill-flashsale", "kill-orders", "kill-dtm", "kill-redis":
		p := map[string]*proc.Process{"kill-flashsale": st.fsProc[f.inst], "kill-orders": st.ordersProc, "kill-dtm": st.dtmProc, "kill-redis": st.redisProc}[f.kind]
		p.Kill()
		in.count(in.injected, f.kind)
		say("SIGKILL %s; restart in %s", p.Name, f.down.Round(time.Millisecond))
		pause(ctx, f.down)
		restart(p)
	case "kill-flashsale-after-lua", "kill-flashsale-before-lua":
		return in.killParked(ctx, f, say, restart)
	case "lose-dtm-store":
		return in.loseDTMStore(ctx, f, say, restart)
	case "kill-redis-master", "failover-redis", "lose-dtm-master":
		return in.clusterFault(ctx, f, say, restart)
	case "stop-flashsale":
		p := st.fsProc[f.inst]
		if err := p.Pause(); err != nil {
			in.count(in.skipped, f.kind)
			return false
		}
		in.count(in.injected, f.kind)
		say("SIGSTOP %s for %s", p.Name, f.down.Round(time.Millisecond))
		pause(ctx, f.down)
		if err := p.Resume(); err != nil {
			in.fail("SIGCONT %s: %v", p.Name, err)
		}
	case "kill-mysql-conns":
		n, err := st.db.killConnections(ctx, st.ordersProc.Pid())
		if err != nil || n == 0 {
			in.count(in.skipped, f.kind)
			return false
		}
		in.count(in.injected, f.kind)
		say("KILL CONNECTION x%d (the order service's MySQL connections)", n)
	default:
		heal, err := st.net.injectJSON(f.link, f.toxic)
		if err != nil {
			in.count(in.skipped, f.kind)
			return false
		}
		in.count(in.injected, f.kind)
		say("%s on %s for %s", strings.SplitN(f.kind, "-", 2)[0], f.link, f.down.Round(time.Millisecond))
		pause(ctx, f.down)
		heal()
	}
	return true
}

// killParked sends a purchase of a victim user to instance f.inst, waits
// until the instance parks it at the fault point, SIGKILLs the instance
// there and restarts it. It needs a sale with units left; it reports
// whether it injected the fault.
func (in *injector) killParked(ctx context.Context, f fault, say func(string, ...any), restart func(*proc.Process)) bool {
	point, victim := "after-lua", victimAfterLua
	if f.kind == "kill-flashsale-before-lua" {
		point, victim = "before-lua", victimBeforeLua
	}
	act := in.saleWithStock(ctx, 10*time.Second)
	p := in.st.fsProc[f.inst]
	if act == 0 || !p.Alive() {
		in.count(in.skipped, f.kind)
		return false
	}
	in.mu.Lock()
	in.victims++
	user := fmt.Sprintf("%s%05d", victim, in.victims)
	in.mu.Unlock()
	gid := contract.PurchaseGID(act, user)
	parked, cancel := p.Expect("FAULTPOINT " + point + " " + gid)
	defer cancel()
	go in.shop.victim(ctx, act, user, f.inst)
	select {
	case <-parked:
	case <-time.After(10 * time.Second):
		in.count(in.skipped, f.kind)
		return false
	}
	p.Kill()
	in.count(in.injected, f.kind)
	say("SIGKILL %s parked %s (%s); restart in %s", p.Name, point, gid, f.down.Round(time.Millisecond))
	pause(ctx, f.down)
	restart(p)
	return true
}

// saleWithStock waits up to d for the current sale to have units left in
// Redis, and returns it (0 if none).
func (in *injector) saleWithStock(ctx context.Context, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if act := in.sale(); act != 0 {
			if n, err := in.st.rdb.Get(ctx, contract.StockKey(act, 0)).Int(); err == nil && n > 2 {
				return act
			}
		}
		if !pause(ctx, 200*time.Millisecond) {
			return 0
		}
	}
	return 0
}

// summary returns the counts of faults injected and skipped, by kind.
func (in *injector) summary() (injected, skipped map[string]int, lastHeal time.Time, fatal []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return copyMap(in.injected), copyMap(in.skipped), in.lastHeal, append([]string(nil), in.fatal...)
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
