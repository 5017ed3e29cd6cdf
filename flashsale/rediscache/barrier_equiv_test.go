package rediscache_test

// These tests hold the project's Redis barrier (Stock.Take and
// Stock.QueryPrepared) against dtm's reference implementation
// (dtmcli.BranchBarrier.RedisCheckAdjustAmount and RedisQueryPrepared,
// github.com/dtm-labs/client v1.18.7, on go-redis v8), step by step on a
// real Redis: REDIS_ADDR, default 127.0.0.1:6379. Without a Redis they skip,
// unless CI is set, where they fail. The comparison needs a single node:
// dtmcli's keys are not hash-tagged.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	redisv8 "github.com/go-redis/redis/v8"
	"github.com/redis/go-redis/v9"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
)

// testBarrierTTL is long enough to outlive any run; t.Cleanup deletes the
// keys anyway.
const testBarrierTTL = time.Hour

// Outcome classes of a local step or back-check, common to both
// implementations.
const (
	classOK        = "ok"
	classFailure   = "failure"
	classDuplicate = "duplicate"
)

// noStock as a starting stock leaves the stock key missing.
const noStock = -1

// redisAddr returns the address of a reachable Redis, or ends the test: a
// skip on a developer's machine, a failure under CI, where a missing Redis is
// a broken pipeline rather than a reason to pass.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	// A bare client for the probe: Open's idle connections would log a
	// failed dial each while the test reports why it stops.
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:       strings.Split(addr, ","),
		DialTimeout: 2 * time.Second,
		MaxRetries:  -1,
	})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("Redis at %s is unreachable and CI=%s: these tests need a real Redis (set REDIS_ADDR): %v", addr, os.Getenv("CI"), err)
		}
		t.Skipf("skipping: Redis at %s is unreachable (start one or set REDIS_ADDR; with CI=true this fails instead): %v", addr, err)
	}
	return addr
}

// runID keeps the gids of concurrent runs (other packages, other machines on
// a shared Redis) apart; dtmcli's barrier keys are global, not per activity.
var runID = fmt.Sprintf("%x%04x", time.Now().UnixNano(), rand.IntN(1<<16))

// newActivityID returns a random activity id, so that no two runs share the
// {fs:<act>} keys.
func newActivityID() int64 { return 1 + rand.Int64N(math.MaxInt64-1) }

// newGID returns a gid no other test or run uses.
func newGID(t *testing.T, label string) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("fsequiv_%s_%s_%s_%x", runID, name, label, rand.Uint32())
}

// barrierName is the barrier of a message's DoAndSubmit local step, as
// dtmcli names it: "<gid>-00-msg-01".
func barrierName(gid string) string {
	return gid + "-" + dtmimp.MsgDoBranch0 + "-" + dtmimp.MsgDoOp + "-" + dtmimp.MsgDoBarrier1
}

// sweeper deletes, when the test ends, every key the test may have written.
type sweeper struct {
	mu   sync.Mutex
	keys []string
}

func (s *sweeper) add(keys ...string) {
	s.mu.Lock()
	s.keys = append(s.keys, keys...)
	s.mu.Unlock()
}

// newSweeper returns a sweeper that deletes its keys through rdb at the end
// of t. Keys go one DEL each, so that a cluster never sees a cross-slot DEL.
func newSweeper(t *testing.T, rdb redis.UniversalClient) *sweeper {
	t.Helper()
	s := &sweeper{}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range s.keys {
				p.Del(ctx, k)
			}
			return nil
		}); err != nil {
			t.Errorf("deleting the test's %d keys: %v", len(s.keys), err)
		}
	})
	return s
}

// env holds the clients of one test: go-redis v9 for the project, v8 for
// dtmcli, both on the same server.
type env struct {
	ctx   context.Context
	rdb   redis.UniversalClient
	rdbV8 *redisv8.Client
	sweep *sweeper
}

func newEnv(t *testing.T) *env {
	t.Helper()
	addr := redisAddr(t)
	if strings.Contains(addr, ",") {
		t.Skipf("skipping: REDIS_ADDR %q names a cluster; dtmcli's untagged keys need a single node", addr)
	}
	e := &env{
		ctx:   context.Background(),
		rdb:   redisconn.Open(redisconn.Options{Addrs: addr}),
		rdbV8: redisv8.NewClient(&redisv8.Options{Addr: addr}),
	}
	// Cleanups run last-in first-out: the keys go before the clients close.
	t.Cleanup(func() {
		e.rdb.Close()
		e.rdbV8.Close()
	})
	e.sweep = newSweeper(t, e.rdb)
	return e
}

// barrierImpl is one implementation under comparison, on keys of its own.
// Its methods report an outcome class and fail the test on any other error.
type barrierImpl interface {
	name() string
	// setStock sets the stock counter, or leaves it missing for noStock.
	setStock(t *testing.T, units int)
	// take is the DoAndSubmit local step of gid's message: take one unit.
	take(t *testing.T, gid string) string
	// query is the back-check of gid's message.
	query(t *testing.T, gid string) string
	// stock is the stock counter, "missing" when the key is absent.
	stock(t *testing.T) string
	// barrier is the value of gid's barrier, "" when absent.
	barrier(t *testing.T, gid string) string
}

// ours is the project's rediscache.Stock on a fresh activity.
type ours struct {
	e    *env
	s    *rediscache.Stock
	act  int64
	errs []error // every call's error, for checks finer than the class
}

func newOurs(t *testing.T, e *env) *ours {
	t.Helper()
	o := &ours{e: e, s: rediscache.NewStock(e.rdb, testBarrierTTL, rediscache.OneShard), act: newActivityID()}
	e.sweep.add(contract.StockKey(o.act, 0), contract.EpochKey(o.act, 0))
	return o
}

func (o *ours) name() string { return "rediscache.Stock" }

func (o *ours) setStock(t *testing.T, units int) {
	t.Helper()
	if units == noStock {
		return
	}
	if err := o.s.Preheat(o.e.ctx, o.act, 1, units); err != nil {
		t.Fatalf("%s: Preheat: %v", o.name(), err)
	}
}

func (o *ours) take(t *testing.T, gid string) string {
	t.Helper()
	b := barrierName(gid)
	o.e.sweep.add(contract.BarrierKey(o.act, 0, b))
	err := o.s.Take(o.e.ctx, o.act, b)
	o.errs = append(o.errs, err)
	return takeClass(t, err)
}

// takeClass maps Take's answer to its class. ErrRolledBack is "duplicate":
// dtmcli answers ErrDuplicated for a barrier closed by the back-check.
func takeClass(t *testing.T, err error) string {
	t.Helper()
	switch {
	case err == nil:
		return classOK
	case errors.Is(err, flashsale.ErrStockShort):
		return classFailure
	case errors.Is(err, flashsale.ErrDuplicate), errors.Is(err, flashsale.ErrRolledBack):
		return classDuplicate
	}
	t.Fatalf("Take: unexpected error %v", err)
	return ""
}

func (o *ours) query(t *testing.T, gid string) string {
	t.Helper()
	b := barrierName(gid)
	o.e.sweep.add(contract.BarrierKey(o.act, 0, b))
	err := o.s.QueryPrepared(o.e.ctx, o.act, b)
	o.errs = append(o.errs, err)
	switch {
	case err == nil:
		return classOK
	case errors.Is(err, flashsale.ErrRolledBack):
		return classFailure
	default:
		t.Fatalf("%s: QueryPrepared: unexpected error %v", o.name(), err)
		return ""
	}
}

func (o *ours) stock(t *testing.T) string {
	t.Helper()
	n, ok, err := o.s.Remaining(o.e.ctx, o.act)
	if err != nil {
		t.Fatalf("%s: Remaining: %v", o.name(), err)
	}
	if !ok {
		return "missing"
	}
	return strconv.FormatInt(n, 10)
}

func (o *ours) barrier(t *testing.T, gid string) string {
	t.Helper()
	v, err := o.s.Barrier(o.e.ctx, o.act, barrierName(gid))
	if err != nil {
		t.Fatalf("%s: Barrier: %v", o.name(), err)
	}
	return v
}

// reference is dtmcli's Redis barrier, driven as DoAndSubmit and a back-check
// handler drive it.
type reference struct {
	e        *env
	stockKey string
}

func newReference(t *testing.T, e *env) *reference {
	t.Helper()
	r := &reference{e: e, stockKey: fmt.Sprintf("fsequiv:%s:%d:stock", runID, newActivityID())}
	e.sweep.add(r.stockKey)
	return r
}

func (r *reference) name() string { return "dtmcli" }

func (r *reference) setStock(t *testing.T, units int) {
	t.Helper()
	if units == noStock {
		return
	}
	if err := r.e.rdbV8.Set(r.e.ctx, r.stockKey, units, 0).Err(); err != nil {
		t.Fatalf("%s: SET stock: %v", r.name(), err)
	}
}

// msgBarrier is the BranchBarrier DoAndSubmit hands its local step. Each
// attempt gets a new one: RedisCheckAdjustAmount advances BarrierID, so a
// reused BranchBarrier would name "-02" and miss the first attempt's barrier.
func msgBarrier(t *testing.T, gid string) *dtmcli.BranchBarrier {
	t.Helper()
	bb, err := dtmcli.BarrierFrom("msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp)
	if err != nil {
		t.Fatalf("BarrierFrom: %v", err)
	}
	return bb
}

func (r *reference) take(t *testing.T, gid string) string {
	t.Helper()
	r.e.sweep.add(barrierName(gid))
	switch err := msgBarrier(t, gid).RedisCheckAdjustAmount(r.e.rdbV8, r.stockKey, -1, int(testBarrierTTL/time.Second)); {
	case err == nil:
		return classOK
	case errors.Is(err, dtmcli.ErrFailure):
		return classFailure
	case errors.Is(err, dtmcli.ErrDuplicated):
		return classDuplicate
	default:
		t.Fatalf("%s: RedisCheckAdjustAmount: unexpected error %v", r.name(), err)
		return ""
	}
}

func (r *reference) query(t *testing.T, gid string) string {
	t.Helper()
	r.e.sweep.add(barrierName(gid))
	switch err := msgBarrier(t, gid).RedisQueryPrepared(r.e.rdbV8, int(testBarrierTTL/time.Second)); {
	case err == nil:
		return classOK
	case errors.Is(err, dtmcli.ErrFailure):
		return classFailure
	default:
		t.Fatalf("%s: RedisQueryPrepared: unexpected error %v", r.name(), err)
		return ""
	}
}

func (r *reference) stock(t *testing.T) string {
	t.Helper()
	v, err := r.e.rdbV8.Get(r.e.ctx, r.stockKey).Result()
	if errors.Is(err, redisv8.Nil) {
		return "missing"
	}
	if err != nil {
		t.Fatalf("%s: GET stock: %v", r.name(), err)
	}
	return v
}

func (r *reference) barrier(t *testing.T, gid string) string {
	t.Helper()
	v, err := r.e.rdbV8.Get(r.e.ctx, barrierName(gid)).Result()
	if errors.Is(err, redisv8.Nil) {
		return ""
	}
	if err != nil {
		t.Fatalf("%s: GET barrier: %v", r.name(), err)
	}
	return v
}

// step is one call of a scenario on a purchase message, named by a label
// ("A", "B") that each run maps to a fresh gid.
type step struct {
	op  string // "take" or "query"
	msg string
}

func take(msg string) step  { return step{op: "take", msg: msg} }
func query(msg string) step { return step{op: "query", msg: msg} }

func (s step) String() string { return s.op + "(" + s.msg + ")" }

// trace is what one implementation did in a scenario.
type trace struct {
	classes  []string          // per step
	stock    string            // at the end
	barriers map[string]string // per label, at the end
}

// run plays steps on impl from the starting stock.
func run(t *testing.T, impl barrierImpl, stock int, steps []step) trace {
	t.Helper()
	gids := map[string]string{}
	for _, s := range steps {
		if gids[s.msg] == "" {
			gids[s.msg] = newGID(t, s.msg)
		}
	}
	impl.setStock(t, stock)
	tr := trace{barriers: map[string]string{}}
	for _, s := range steps {
		switch s.op {
		case "take":
			tr.classes = append(tr.classes, impl.take(t, gids[s.msg]))
		case "query":
			tr.classes = append(tr.classes, impl.query(t, gids[s.msg]))
		default:
			t.Fatalf("bad step %v", s)
		}
	}
	tr.stock = impl.stock(t)
	for label, gid := range gids {
		tr.barriers[label] = impl.barrier(t, gid)
	}
	return tr
}

// checkTrace reports where got differs from the expected classes, stock and
// barriers.
func checkTrace(t *testing.T, who string, steps []step, got trace, classes []string, stock string, barriers map[string]string) {
	t.Helper()
	for i, s := range steps {
		if got.classes[i] != classes[i] {
			t.Errorf("%s: step %d %v answered %q, want %q", who, i+1, s, got.classes[i], classes[i])
		}
	}
	if got.stock != stock {
		t.Errorf("%s: stock ends at %s, want %s", who, got.stock, stock)
	}
	for label, want := range barriers {
		if got.barriers[label] != want {
			t.Errorf("%s: barrier of %s is %q, want %q", who, label, got.barriers[label], want)
		}
	}
}

// TestBarrierMatchesDTM plays each scenario on both implementations from the
// same starting state and requires the same answers, stock and barriers.
func TestBarrierMatchesDTM(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name      string
		stock     int
		steps     []step
		classes   []string // both implementations, per step
		wantStock string   // stock at the end
		barriers  map[string]string
		// ourErrs, when set, pins the project's exact error per step (nil
		// entries are not checked): the class merges ErrDuplicate and
		// ErrRolledBack.
		ourErrs []error
	}{
		{
			name:      "fresh purchase",
			stock:     5,
			steps:     []step{take("A")},
			classes:   []string{classOK},
			wantStock: "4",
			barriers:  map[string]string{"A": contract.BarrierTaken},
		},
		{
			name:      "repeated purchase",
			stock:     5,
			steps:     []step{take("A"), take("A")},
			classes:   []string{classOK, classDuplicate},
			wantStock: "4",
			barriers:  map[string]string{"A": contract.BarrierTaken},
			ourErrs:   []error{nil, flashsale.ErrDuplicate},
		},
		{
			// The back-check won the race with a slow local step: it closes
			// the barrier, and the late step must not take a unit.
			name:      "back-check before the local step",
			stock:     5,
			steps:     []step{query("A"), take("A")},
			classes:   []string{classFailure, classDuplicate},
			wantStock: "5",
			barriers:  map[string]string{"A": contract.BarrierRollback},
			ourErrs:   []error{nil, flashsale.ErrRolledBack},
		},
		{
			name:      "back-check after the local step",
			stock:     5,
			steps:     []step{take("A"), query("A")},
			classes:   []string{classOK, classOK},
			wantStock: "4",
			barriers:  map[string]string{"A": contract.BarrierTaken},
		},
		{
			name:      "back-check twice",
			stock:     5,
			steps:     []step{query("A"), query("A")},
			classes:   []string{classFailure, classFailure},
			wantStock: "5",
			barriers:  map[string]string{"A": contract.BarrierRollback},
		},
		{
			name:      "stock short",
			stock:     0,
			steps:     []step{take("A")},
			classes:   []string{classFailure},
			wantStock: "0",
			barriers:  map[string]string{"A": contract.BarrierAbsent},
			ourErrs:   []error{flashsale.ErrStockShort},
		},
		{
			name:      "stock key missing",
			stock:     noStock,
			steps:     []step{take("A")},
			classes:   []string{classFailure},
			wantStock: "missing",
			barriers:  map[string]string{"A": contract.BarrierAbsent},
			ourErrs:   []error{flashsale.ErrStockShort},
		},
		{
			name:      "last unit",
			stock:     1,
			steps:     []step{take("A"), take("B")},
			classes:   []string{classOK, classFailure},
			wantStock: "0",
			barriers:  map[string]string{"A": contract.BarrierTaken, "B": contract.BarrierAbsent},
		},
		{
			// A failed local step leaves no barrier, so the back-check
			// finds none and closes it.
			name:      "back-check after a failed local step",
			stock:     0,
			steps:     []step{take("A"), query("A")},
			classes:   []string{classFailure, classFailure},
			wantStock: "0",
			barriers:  map[string]string{"A": contract.BarrierRollback},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, r := newOurs(t, e), newReference(t, e)
			got := run(t, o, tc.stock, tc.steps)
			ref := run(t, r, tc.stock, tc.steps)

			// Against each other first: this is the property under test.
			for i, s := range tc.steps {
				if got.classes[i] != ref.classes[i] {
					t.Errorf("step %d %v: %s answered %q, %s %q", i+1, s, o.name(), got.classes[i], r.name(), ref.classes[i])
				}
			}
			if got.stock != ref.stock {
				t.Errorf("stock ends at %s in %s, %s in %s", got.stock, o.name(), ref.stock, r.name())
			}
			for label := range tc.barriers {
				if got.barriers[label] != ref.barriers[label] {
					t.Errorf("barrier of %s is %q in %s, %q in %s", label, got.barriers[label], o.name(), ref.barriers[label], r.name())
				}
			}

			// Then against the scenario, so that both agreeing on a wrong
			// answer still fails.
			checkTrace(t, o.name(), tc.steps, got, tc.classes, tc.wantStock, tc.barriers)
			checkTrace(t, r.name(), tc.steps, ref, tc.classes, tc.wantStock, tc.barriers)
			for i, want := range tc.ourErrs {
				if want != nil && !errors.Is(o.errs[i], want) {
					t.Errorf("%s: step %d %v returned %v, want %v", o.name(), i+1, tc.steps[i], o.errs[i], want)
				}
			}
		})
	}
}

// TestBarrierDivergesFromDTM pins where the project departs from dtmcli. Both
// come from one change: our script reads the barrier before the stock,
// dtmcli's reads the stock first.
func TestBarrierDivergesFromDTM(t *testing.T) {
	e := newEnv(t)

	// The intended difference. Two attempts of one purchase share a gid
	// (a client retry, a double click reaching two instances); the first
	// takes the last unit, and the second then finds the stock at 0.
	// dtmcli answers FAILURE, so the second DoAndSubmit aborts the message,
	// the very gid the first attempt prepared and is about to submit: the
	// order is never created and the unit, already taken from the counter,
	// is lost. Ours answers DUPLICATE: DoAndSubmit asks the back-check,
	// which finds the barrier taken and submits, so the order goes through.
	t.Run("duplicate after the last unit", func(t *testing.T) {
		steps := []step{take("A"), take("A")}
		barriers := map[string]string{"A": contract.BarrierTaken}

		o := newOurs(t, e)
		got := run(t, o, 1, steps)
		checkTrace(t, o.name(), steps, got, []string{classOK, classDuplicate}, "0", barriers)
		if !errors.Is(o.errs[1], flashsale.ErrDuplicate) {
			t.Errorf("%s: second Take returned %v, want ErrDuplicate", o.name(), o.errs[1])
		}

		r := newReference(t, e)
		ref := run(t, r, 1, steps)
		checkTrace(t, r.name(), steps, ref, []string{classOK, classFailure}, "0", barriers)
	})

	// A side effect of the same reordering, harmless: a local step that
	// runs after the back-check closed its barrier, with no stock left.
	// dtmcli says FAILURE (stock), ours ErrRolledBack (barrier); the
	// purchase service maps ErrRolledBack to dtmcli.ErrFailure, so both
	// abort a message the back-check has already rolled back.
	t.Run("local step after the back-check with no stock", func(t *testing.T) {
		steps := []step{query("A"), take("A")}
		barriers := map[string]string{"A": contract.BarrierRollback}

		o := newOurs(t, e)
		got := run(t, o, 0, steps)
		checkTrace(t, o.name(), steps, got, []string{classFailure, classDuplicate}, "0", barriers)
		if !errors.Is(o.errs[1], flashsale.ErrRolledBack) {
			t.Errorf("%s: Take returned %v, want ErrRolledBack", o.name(), o.errs[1])
		}

		r := newReference(t, e)
		ref := run(t, r, 0, steps)
		checkTrace(t, r.name(), steps, ref, []string{classFailure, classFailure}, "0", barriers)
	})
}

// takeAll runs one Take per barrier, all released at once, and counts the
// answers by error (nil included).
func takeAll(t *testing.T, s *rediscache.Stock, act int64, barriers []string) map[error]int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count = map[error]int{}
		start = make(chan struct{})
	)
	for _, b := range barriers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.Take(context.Background(), act, b)
			mu.Lock()
			count[err]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return count
}

// checkCounts compares the answers of takeAll with want; any other error
// (a Redis error, a wrapped one) shows up as an extra key.
func checkCounts(t *testing.T, got, want map[error]int) {
	t.Helper()
	for err, n := range want {
		if got[err] != n {
			t.Errorf("%d Takes returned %v, want %d", got[err], err, n)
		}
	}
	for err, n := range got {
		if _, ok := want[err]; !ok {
			t.Errorf("%d Takes returned unexpected %v", n, err)
		}
	}
}

// TestTakeConcurrent checks that Take is atomic under contention.
func TestTakeConcurrent(t *testing.T) {
	e := newEnv(t)

	t.Run("same barrier", func(t *testing.T) {
		o := newOurs(t, e)
		o.setStock(t, 10)
		gid := newGID(t, "A")
		b := barrierName(gid)
		e.sweep.add(contract.BarrierKey(o.act, 0, b))
		barriers := make([]string, 50)
		for i := range barriers {
			barriers[i] = b
		}
		checkCounts(t, takeAll(t, o.s, o.act, barriers), map[error]int{nil: 1, flashsale.ErrDuplicate: 49})
		if got := o.stock(t); got != "9" {
			t.Errorf("stock ends at %s, want 9", got)
		}
		if got := o.barrier(t, gid); got != contract.BarrierTaken {
			t.Errorf("barrier is %q, want %q", got, contract.BarrierTaken)
		}
	})

	t.Run("distinct gids", func(t *testing.T) {
		o := newOurs(t, e)
		o.setStock(t, 30)
		gids := make([]string, 100)
		barriers := make([]string, len(gids))
		for i := range gids {
			gids[i] = newGID(t, strconv.Itoa(i))
			barriers[i] = barrierName(gids[i])
			e.sweep.add(contract.BarrierKey(o.act, 0, barriers[i]))
		}
		checkCounts(t, takeAll(t, o.s, o.act, barriers), map[error]int{nil: 30, flashsale.ErrStockShort: 70})
		if got := o.stock(t); got != "0" {
			t.Errorf("stock ends at %s, want 0", got)
		}
		// Exactly the winners hold a barrier: a loser leaves none behind.
		taken := 0
		for _, gid := range gids {
			switch v := o.barrier(t, gid); v {
			case contract.BarrierTaken:
				taken++
			case contract.BarrierAbsent:
			default:
				t.Errorf("barrier of %s is %q", gid, v)
			}
		}
		if taken != 30 {
			t.Errorf("%d barriers taken, want 30", taken)
		}
	})
}
