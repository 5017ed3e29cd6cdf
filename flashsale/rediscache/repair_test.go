package rediscache_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
)

// TestCompensate: on a sale of 3 shards of one unit, four purchases walk
// until three hold a unit (one far from its home); Taken names exactly
// those three; compensating one puts its unit back in the shard it came
// from, once, and closes its barrier with rollback, so a back-check fails
// it and a repeat of its local step takes nothing; a purchase that took
// nothing is not compensated; a stale counter refuses it.
func TestCompensate(t *testing.T) {
	e := newEnv(t)
	gids := gidsOf(runID+"_comp", 4)
	s, act := shardedStock(t, e, 3, 3, gids)
	var held []string
	for _, g := range gids {
		switch err := s.Take(e.ctx, act, contract.MsgBarrier(g)); {
		case err == nil:
			held = append(held, g)
		case !errors.Is(err, flashsale.ErrStockShort):
			t.Fatal(err)
		}
	}
	if len(held) != 3 {
		t.Fatalf("%d purchases hold a unit, want 3", len(held))
	}
	taken, err := s.Taken(e.ctx, act)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(taken)
	slices.Sort(held)
	if !slices.Equal(taken, held) {
		t.Fatalf("Taken = %v, want %v", taken, held)
	}
	g := held[0]
	for i, want := range []bool{true, false} {
		back, err := s.Compensate(e.ctx, act, contract.MsgBarrier(g), 1)
		if err != nil || back != want {
			t.Fatalf("compensation %d: %v, %v; want %v", i+1, back, err, want)
		}
	}
	if n, ok, err := s.Remaining(e.ctx, act); err != nil || !ok || n != 1 {
		t.Fatalf("after the compensation: %d units (loaded %v, %v), want 1", n, ok, err)
	}
	if st, err := s.Barrier(e.ctx, act, contract.MsgBarrier(g)); err != nil || st != contract.BarrierRollback {
		t.Fatalf("barrier after the compensation: %q, %v", st, err)
	}
	if err := s.Take(e.ctx, act, contract.MsgBarrier(g)); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("the local step again: %v, want ErrRolledBack", err)
	}
	if err := s.QueryPrepared(e.ctx, act, contract.MsgBarrier(g)); !errors.Is(err, flashsale.ErrRolledBack) {
		t.Fatalf("the back-check: %v, want ErrRolledBack", err)
	}
	for _, other := range gids {
		if !slices.Contains(held, other) {
			if back, err := s.Compensate(e.ctx, act, contract.MsgBarrier(other), 1); back || err != nil {
				t.Fatalf("compensating a purchase that took nothing: %v, %v", back, err)
			}
		}
	}
	// A counter set under another Redis process is stale: nothing moves.
	for i := range 3 {
		if err := e.rdb.Set(e.ctx, contract.EpochKey(act, i), "another-run", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if back, err := s.Compensate(e.ctx, act, contract.MsgBarrier(held[1]), 1); back || !errors.Is(err, flashsale.ErrStale) {
		t.Fatalf("compensating on a stale counter: %v, %v; want ErrStale", back, err)
	}
}
