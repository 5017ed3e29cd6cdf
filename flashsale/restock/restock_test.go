package restock_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/flashsale/restock"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// sale is one activity on the test Redis, with the two durable stores a
// re-derivation reads held in memory: the dtm server's messages and the
// order service's orders.
type sale struct {
	a     flashsale.Activity
	rdb   redis.UniversalClient
	stock *rediscache.Stock

	mu     sync.Mutex // mu guards msgs and orders
	msgs   map[string]string
	orders []string
}

func newSale(t *testing.T, total int) *sale {
	t.Helper()
	addr := testenv.Server(t, "REDIS_ADDR", "127.0.0.1:6379")
	rdb := redisconn.Open(redisconn.Options{Addrs: addr})
	s := &sale{
		a:     flashsale.Activity{ID: 1 + rand.Int64N(1<<50), Total: total, EndAt: time.Now().Add(time.Hour)},
		rdb:   rdb,
		stock: rediscache.NewStock(rdb, time.Hour, rediscache.OneShard),
		msgs:  map[string]string{},
	}
	t.Cleanup(func() {
		ctx := context.Background()
		it := rdb.Scan(ctx, 0, fmt.Sprintf("{fs:%d}:*", s.a.ID), 1000).Iterator()
		for it.Next(ctx) {
			rdb.Del(ctx, it.Val())
		}
		rdb.Close()
	})
	if err := s.stock.Preheat(context.Background(), s.a.ID, 1, total); err != nil {
		t.Fatal(err)
	}
	return s
}

// catalog lists the sale's one activity; other methods are not called.
type catalog struct {
	flashsale.Catalog
	s *sale
}

func (c catalog) Activities(context.Context) ([]flashsale.Activity, error) {
	return []flashsale.Activity{c.s.a}, nil
}

// orderReader reads the sale's orders; other methods are not called.
type orderReader struct {
	flashsale.OrderReader
	s *sale
}

func (r orderReader) OrderGIDs(context.Context, int64) ([]string, []string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return append([]string(nil), r.s.orders...), nil, nil
}

func (r orderReader) Ledger(context.Context, int64) (flashsale.Ledger, error) {
	return flashsale.Ledger{Total: r.s.a.Total}, nil
}

func (s *sale) messages(context.Context, ...int64) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.msgs))
	for g, st := range s.msgs {
		out[g] = st
	}
	return out, nil
}

func (s *sale) setMsg(gid, status string) {
	s.mu.Lock()
	s.msgs[gid] = status
	s.mu.Unlock()
}

// buy runs a purchase as the service does: Prepare (the message is known
// to dtm), the Lua step, then Submit or abort.
func (s *sale) buy(ctx context.Context, user string) error {
	gid := contract.PurchaseGID(s.a.ID, user)
	s.setMsg(gid, dtmcli.StatusPrepared)
	err := s.stock.Take(ctx, s.a.ID, contract.MsgBarrier(gid))
	if err != nil {
		s.setMsg(gid, dtmcli.StatusFailed)
		return err
	}
	s.setMsg(gid, dtmcli.StatusSubmitted)
	return nil
}

// stale makes the counter stale as a restart does: its epoch names another
// Redis process.
func (s *sale) stale(t *testing.T) {
	t.Helper()
	if err := s.rdb.Set(context.Background(), contract.EpochKey(s.a.ID, 0), "a-previous-run", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func (s *sale) missing(ctx context.Context) (int, error) {
	return restock.Missing(ctx, catalog{s: s}, s.stock, orderReader{s: s}, s.messages)
}

// takenBarriers counts the activity's purchase barriers holding a unit.
func (s *sale) takenBarriers(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	it := s.rdb.Scan(ctx, 0, contract.BarrierKey(s.a.ID, 0, "")+"*", 1000).Iterator()
	for it.Next(ctx) {
		if v, _ := s.rdb.Get(ctx, it.Val()).Result(); v == contract.BarrierTaken {
			n++
		}
	}
	return n
}

// TestStaleCounterRederived: after a restart that lost the last Lua step
// (barrier and decrement gone, its message and the other orders kept), the
// counter still exists but is stale; buys are refused until Missing
// re-derives it from the orders and messages.
func TestStaleCounterRederived(t *testing.T) {
	s := newSale(t, 10)
	ctx := context.Background()
	for _, u := range []string{"u1", "u2", "u3"} {
		if err := s.buy(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	s.orders = []string{contract.PurchaseGID(s.a.ID, "u1"), contract.PurchaseGID(s.a.ID, "u2")}
	s.msgs[s.orders[0]], s.msgs[s.orders[1]] = dtmcli.StatusSucceed, dtmcli.StatusSucceed
	// The AOF lost u3's Lua step; its message was submitted and kept.
	s.rdb.Del(ctx, contract.BarrierKey(s.a.ID, 0, contract.MsgBarrier(contract.PurchaseGID(s.a.ID, "u3"))))
	s.rdb.IncrBy(ctx, contract.StockKey(s.a.ID, 0), 1)
	s.stale(t)

	if _, ok, err := s.stock.Remaining(ctx, s.a.ID); err != nil || ok {
		t.Fatalf("Remaining of a stale counter: ok %v, err %v; want not loaded", ok, err)
	}
	if err := s.buy(ctx, "u4"); !errors.Is(err, flashsale.ErrStale) {
		t.Fatalf("buy while stale: %v, want ErrStale", err)
	}
	if n, err := s.missing(ctx); err != nil || n != 1 {
		t.Fatalf("Missing = %d, %v; want 1 activity re-derived", n, err)
	}
	if left, ok, err := s.stock.Remaining(ctx, s.a.ID); err != nil || !ok || left != 7 {
		t.Fatalf("Remaining after the re-derivation = %d, %v, %v; want 7 (10 - 2 orders - 1 on its way)", left, ok, err)
	}
	if b, _ := s.stock.Barrier(ctx, s.a.ID, contract.MsgBarrier(contract.PurchaseGID(s.a.ID, "u3"))); b != contract.BarrierTaken {
		t.Fatalf("u3's barrier after the re-derivation = %q, want taken", b)
	}
	if n, err := s.missing(ctx); err != nil || n != 0 {
		t.Fatalf("Missing on a fresh counter = %d, %v; want 0", n, err)
	}
}

// TestRederiveRacesBuys: buyers keep buying while two instances re-derive
// the stale counter at once, many times over. Every unit must be counted
// exactly once: counter + units taken = total, whatever the interleaving.
// Without the stale check in the Lua step, or with an unconditional
// Restore, a unit taken during a re-derivation is counted twice or lost.
func TestRederiveRacesBuys(t *testing.T) {
	const total = 400
	s := newSale(t, total)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var next atomic.Int64
	var took atomic.Int64
	stop := make(chan struct{})
	var buyers sync.WaitGroup
	for w := 0; w < 16; w++ {
		buyers.Add(1)
		go func() {
			defer buyers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.buy(ctx, fmt.Sprintf("u%d", next.Add(1)))
				switch {
				case err == nil:
					took.Add(1)
				case errors.Is(err, flashsale.ErrStale), errors.Is(err, flashsale.ErrStockShort):
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	for round := 0; round < 30 && took.Load() < total-20; round++ {
		s.stale(t)
		var derivers sync.WaitGroup
		for i := 0; i < 2; i++ {
			derivers.Add(1)
			go func() {
				defer derivers.Done()
				if _, err := s.missing(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		derivers.Wait()
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	buyers.Wait()
	left, ok, err := s.stock.Remaining(ctx, s.a.ID)
	if err != nil || !ok {
		t.Fatalf("Remaining: %v %v", ok, err)
	}
	taken := s.takenBarriers(t)
	t.Logf("%d buys took a unit, %d barriers taken, %d left of %d", took.Load(), taken, left, total)
	if int(left)+taken != total || int64(taken) != took.Load() {
		t.Fatalf("counter %d + taken barriers %d != total %d (buys that took a unit: %d)", left, taken, total, took.Load())
	}
}

// TestReturnWaitsForRederivation: a cancelled order's unit is not returned
// onto a stale counter. A re-derivation may have read the order as live
// before it was cancelled; returning the unit before that re-derivation's
// Restore would lose it (the Restore overwrites the counter and keeps the
// return's barrier). Refused, it comes back after the Restore, once.
func TestReturnWaitsForRederivation(t *testing.T) {
	s := newSale(t, 10)
	ctx := context.Background()
	if err := s.buy(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	gid := contract.PurchaseGID(s.a.ID, "u1")
	s.orders, s.msgs[gid] = []string{gid}, dtmcli.StatusSucceed
	s.stale(t)
	// The re-derivation reads the order as live ...
	units, err := restock.Activity(ctx, s.a, s.stock, orderReader{s: s}, s.messages)
	if err != nil || units != 9 {
		t.Fatalf("re-derived %d, %v; want 9", units, err)
	}
	// ... so, had the return come in between, it must have been refused.
	s.stale(t)
	ret := contract.BranchBarrier(contract.CancelGID(s.a.ID, "u1"))
	if ok, err := s.stock.ReturnUnit(ctx, s.a.ID, ret); ok || !errors.Is(err, flashsale.ErrStale) {
		t.Fatalf("return onto a stale counter: %v, %v; want ErrStale", ok, err)
	}
	if b, _ := s.stock.Barrier(ctx, s.a.ID, ret); b != contract.BarrierAbsent {
		t.Fatalf("a refused return set its barrier: %q", b)
	}
	if _, err := s.missing(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.stock.ReturnUnit(ctx, s.a.ID, ret); !ok || err != nil {
		t.Fatalf("return after the re-derivation: %v, %v; want the unit back", ok, err)
	}
	if left, _, _ := s.stock.Remaining(ctx, s.a.ID); left != 10 {
		t.Fatalf("stock after the return = %d, want 10", left)
	}
}
