package rediscache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/contract"
)

// shardedStock returns a Stock on the test's Redis whose activity act has
// n shards holding units, and sweeps the keys of gids' barriers.
func shardedStock(t *testing.T, e *env, n, units int, gids []string) (*rediscache.Stock, int64) {
	t.Helper()
	act := newActivityID()
	s := rediscache.NewStock(e.rdb, testBarrierTTL, func(context.Context, int64) (int, error) { return n, nil })
	for i := range n {
		e.sweep.add(contract.StockKey(act, i), contract.EpochKey(act, i), contract.ClosedKey(act, i))
		for _, g := range gids {
			e.sweep.add(contract.BarrierKey(act, i, contract.MsgBarrier(g)))
		}
	}
	e.sweep.add(contract.RederiveKey(act))
	if err := s.Preheat(e.ctx, act, n, units); err != nil {
		t.Fatal(err)
	}
	return s, act
}

func gidsOf(act string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = contract.PurchaseGID(1, fmt.Sprintf("%s_%d", act, i))
	}
	return out
}

// TestShardsWalk: with 6 shards of one unit each, buyers sell all 6 units
// and only then hear sold out, whatever their home shards; a buyer whose
// unit came from another shard than its home meets its barrier on a
// repeat, and the stock reads 0 in every shard.
func TestShardsWalk(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID, 40)
	s, act := shardedStock(t, e, 6, 6, gids)
	took := 0
	for i, g := range gids {
		err := s.Take(e.ctx, act, contract.MsgBarrier(g))
		switch {
		case err == nil:
			took++
		case errors.Is(err, flashsale.ErrStockShort):
			if took < 6 {
				t.Fatalf("buyer %d told sold out with %d of 6 units sold", i, took)
			}
		default:
			t.Fatalf("buyer %d: %v", i, err)
		}
	}
	if took != 6 {
		t.Fatalf("%d units sold of 6", took)
	}
	for _, g := range gids {
		b, err := s.Barrier(e.ctx, act, contract.MsgBarrier(g))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Take(e.ctx, act, contract.MsgBarrier(g))
		if b == contract.BarrierTaken && !errors.Is(err, flashsale.ErrDuplicate) || b != contract.BarrierTaken && !errors.Is(err, flashsale.ErrStockShort) {
			t.Errorf("repeat of %s (barrier %q): %v", g, b, err)
		}
	}
	shares, err := s.Shares(e.ctx, act)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shares {
		if !sh.Loaded || sh.Units != 0 {
			t.Errorf("shard %d: %+v after the sale", sh.Index, sh)
		}
	}
}

// TestShardsBackCheckFollowsTheWalk: a purchase whose home shard is empty
// links on; its back-check follows the link and closes the end, after
// which no attempt of it takes a unit anywhere, though units are left.
func TestShardsBackCheckFollowsTheWalk(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID+"bc", 64)
	s, act := shardedStock(t, e, 4, 4, gids)
	l := contract.Shards{Activity: act, N: 4}
	// Empty shard 0 by buyers homed there.
	var homed0 []string
	for _, g := range gids {
		if l.Home(g) == 0 {
			homed0 = append(homed0, g)
		}
	}
	if err := s.Take(e.ctx, act, contract.MsgBarrier(homed0[0])); err != nil {
		t.Fatal(err)
	}
	// homed0[1]'s back-check comes first: closed at home, nothing taken.
	if err := s.QueryPrepared(e.ctx, act, contract.MsgBarrier(homed0[1])); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("back-check before the local step: %v", err)
	}
	if err := s.Take(e.ctx, act, contract.MsgBarrier(homed0[1])); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("local step after the back-check: %v", err)
	}
	// homed0[2] walks on from its empty home and takes elsewhere: its
	// back-check commits.
	if err := s.Take(e.ctx, act, contract.MsgBarrier(homed0[2])); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.rdb.Get(e.ctx, contract.BarrierKey(act, 0, contract.MsgBarrier(homed0[2]))).Result(); v != "next:1" {
		t.Fatalf("home barrier of a walk: %q, want next:1", v)
	}
	if err := s.QueryPrepared(e.ctx, act, contract.MsgBarrier(homed0[2])); err != nil {
		t.Fatalf("back-check of a walk that took: %v", err)
	}
	// Shard 1 is empty now too: homed0[3]'s chain is left as an
	// interrupted walk would leave it (a link to shard 1, nothing
	// further), then its back-check closes shard 1's end.
	if err := e.rdb.Set(e.ctx, contract.BarrierKey(act, 0, contract.MsgBarrier(homed0[3])), "next:1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.QueryPrepared(e.ctx, act, contract.MsgBarrier(homed0[3])); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("back-check of an interrupted walk: %v", err)
	}
	if err := s.Take(e.ctx, act, contract.MsgBarrier(homed0[3])); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("local step after the back-check closed its walk: %v", err)
	}
	if n, ok, err := s.Remaining(e.ctx, act); err != nil || !ok || n != 2 {
		t.Fatalf("Remaining = %d, %v, %v; want 2", n, ok, err)
	}
}

// TestShardsConcurrentAttempts: 50 buyers, each attempting 4 times at once,
// for 30 units over 6 shards: 30 buyers get a unit, each once, and the
// shards end empty.
func TestShardsConcurrentAttempts(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID+"cc", 50)
	s, act := shardedStock(t, e, 6, 30, gids)
	var mu sync.Mutex
	ok := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		for _, g := range gids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Take(context.Background(), act, contract.MsgBarrier(g))
				if err != nil && !errors.Is(err, flashsale.ErrDuplicate) && !errors.Is(err, flashsale.ErrStockShort) {
					t.Errorf("%s: %v", g, err)
				}
				if err == nil {
					mu.Lock()
					ok[g]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(ok) != 30 {
		t.Errorf("%d buyers got a unit, want 30", len(ok))
	}
	for g, n := range ok {
		if n != 1 {
			t.Errorf("%s took %d units", g, n)
		}
	}
	if n, loaded, err := s.Remaining(e.ctx, act); err != nil || !loaded || n != 0 {
		t.Errorf("Remaining = %d, %v, %v; want 0", n, loaded, err)
	}
}

// TestShardsRederiveRace: of two re-derivations that overlap, the one
// frozen first stops at its first shard and sets nothing; the later one's
// counts stand, and the activity sells again.
func TestShardsRederiveRace(t *testing.T) {
	e := newEnv(t)
	s, act := shardedStock(t, e, 3, 9, nil)
	// A restart is simulated by a stale epoch in shard 2.
	if err := e.rdb.Set(e.ctx, contract.EpochKey(act, 2), "gone", 0).Err(); err != nil {
		t.Fatal(err)
	}
	first, err := s.Freeze(e.ctx, act)
	if err != nil || first == "" {
		t.Fatalf("first Freeze: %q, %v", first, err)
	}
	if _, err := s.Freeze(e.ctx, act); !errors.Is(err, flashsale.ErrRederiving) {
		t.Fatalf("a second Freeze while the lock is held: %v", err)
	}
	if err := s.Take(e.ctx, act, contract.MsgBarrier("frozen-buyer-00-msg-01")); !errors.Is(err, flashsale.ErrStale) {
		t.Fatalf("a take while frozen: %v", err)
	}
	// The first's lock expires (deleted here); a second instance freezes.
	e.rdb.Del(e.ctx, contract.RederiveKey(act))
	second, err := s.Freeze(e.ctx, act)
	if err != nil || second == "" {
		t.Fatalf("second Freeze: %q, %v", second, err)
	}
	if err := s.Restore(e.ctx, act, first, 100, nil); !errors.Is(err, flashsale.ErrRederiving) {
		t.Fatalf("the first Restore after the second Freeze: %v", err)
	}
	if err := s.Restore(e.ctx, act, second, 7, nil); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := s.Remaining(e.ctx, act); err != nil || !ok || n != 7 {
		t.Fatalf("Remaining = %d, %v, %v; want the second's 7", n, ok, err)
	}
	if token, err := s.Freeze(e.ctx, act); err != nil || token != "" {
		t.Fatalf("Freeze of a fresh activity: %q, %v; want nothing to do", token, err)
	}
}

// TestShardsClose: a closed activity takes no unit in any shard.
func TestShardsClose(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID+"cl", 12)
	s, act := shardedStock(t, e, 3, 30, gids)
	if err := s.Close(e.ctx, act); err != nil {
		t.Fatal(err)
	}
	for _, g := range gids {
		if err := s.Take(e.ctx, act, contract.MsgBarrier(g)); !errors.Is(err, flashsale.ErrClosed) {
			t.Fatalf("%s after Close: %v", g, err)
		}
	}
}

// TestShardsMissingCounterIsNotSoldOut: a shard whose counter is gone (a
// Redis that came back empty) answers ErrStale (503), never sold out,
// wherever the walk meets it: here the last shard of a walk from an empty
// home.
func TestShardsMissingCounterIsNotSoldOut(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID+"mc", 8)
	s, act := shardedStock(t, e, 2, 2, gids)
	l := contract.Shards{Activity: act, N: 2}
	for _, g := range gids {
		home := l.Home(g)
		e.rdb.Set(e.ctx, contract.StockKey(act, home), 0, 0)
		e.rdb.Del(e.ctx, contract.StockKey(act, 1-home))
		if err := s.Take(e.ctx, act, contract.MsgBarrier(g)); !errors.Is(err, flashsale.ErrStale) {
			t.Fatalf("%s (home %d, empty; the other shard's counter gone): %v; want ErrStale", g, home, err)
		}
	}
}
