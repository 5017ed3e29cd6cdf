package rediscache_test

import (
	"errors"
	"testing"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
)

// TestTakeUnitsAllOrNone: an admin's removal takes all its units or none,
// once per barrier, and leaves the counter untouched when short.
func TestTakeUnitsAllOrNone(t *testing.T) {
	e := newEnv(t)
	o := newOurs(t, e)
	o.setStock(t, 5)
	b1, b2 := barrierName(newGID(t, "rm")), barrierName(newGID(t, "rm"))
	e.sweep.add(contract.BarrierKey(o.act, 0, b1), contract.BarrierKey(o.act, 0, b2))
	if err := o.s.TakeUnits(e.ctx, o.act, b1, 6); !errors.Is(err, flashsale.ErrNotEnoughUnits) {
		t.Fatalf("remove 6 of 5: %v, want ErrNotEnoughUnits", err)
	}
	if got := o.stock(t); got != "5" {
		t.Fatalf("stock %s after a refused removal, want 5", got)
	}
	if err := o.s.TakeUnits(e.ctx, o.act, b2, 3); err != nil {
		t.Fatalf("remove 3 of 5: %v", err)
	}
	if err := o.s.TakeUnits(e.ctx, o.act, b2, 3); !errors.Is(err, flashsale.ErrDuplicate) {
		t.Fatalf("the same removal again: %v, want ErrDuplicate", err)
	}
	if got := o.stock(t); got != "2" {
		t.Fatalf("stock %s, want 2", got)
	}
}

// TestCloseStopsPurchasesOnly: once an activity is closed no purchase
// takes a unit, a purchase that took one before is still told so, and an
// admin can still remove or add units.
func TestCloseStopsPurchasesOnly(t *testing.T) {
	e := newEnv(t)
	o := newOurs(t, e)
	e.sweep.add(contract.ClosedKey(o.act, 0))
	o.setStock(t, 5)
	if got := o.take(t, "before"); got != classOK {
		t.Fatalf("take before closing: %s", got)
	}
	if err := o.s.Close(e.ctx, o.act); err != nil {
		t.Fatal(err)
	}
	after := barrierName(newGID(t, "after"))
	e.sweep.add(contract.BarrierKey(o.act, 0, after))
	if err := o.s.Take(e.ctx, o.act, after); !errors.Is(err, flashsale.ErrClosed) {
		t.Fatalf("take after closing: %v, want ErrClosed", err)
	}
	if err := o.s.Take(e.ctx, o.act, barrierName("before")); !errors.Is(err, flashsale.ErrDuplicate) {
		t.Fatalf("the earlier purchase again: %v, want ErrDuplicate", err)
	}
	rm, add := barrierName(newGID(t, "rm")), contract.BranchBarrier(newGID(t, "add"))
	e.sweep.add(contract.BarrierKey(o.act, 0, rm), contract.BarrierKey(o.act, 0, add))
	if err := o.s.TakeUnits(e.ctx, o.act, rm, 4); err != nil {
		t.Fatalf("remove the 4 unsold units of a closed activity: %v", err)
	}
	for i, want := range []bool{true, false} {
		if added, err := o.s.AddUnits(e.ctx, o.act, add, 7); err != nil || added != want {
			t.Fatalf("add 7, delivery %d: %v, %v; want %v", i+1, added, err, want)
		}
	}
	if got := o.stock(t); got != "7" {
		t.Fatalf("stock %s, want 7", got)
	}
}
