package restock_test

import (
	"context"
	"testing"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/restock"
	"github.com/flashsale/flashsale/internal/contract"
)

// cancelledReader reads a fixed set of orders, some cancelled.
type cancelledReader struct {
	flashsale.OrderReader
	gids, cancelled []string
	total           int
}

func (r cancelledReader) Ledger(context.Context, int64) (flashsale.Ledger, error) {
	return flashsale.Ledger{Total: r.total}, nil
}

func (r cancelledReader) OrderGIDs(context.Context, int64) ([]string, []string, error) {
	return r.gids, r.cancelled, nil
}

// TestRederiveWithCancelledOrder: a cancelled order's unit is counted back
// in the re-derived stock, and its cancellation's branch, delivered after
// the re-derivation, returns nothing more; a cancellation whose local step
// commits after the read (its order counted live) still returns its unit.
func TestRederiveWithCancelledOrder(t *testing.T) {
	ctx := context.Background()
	s := newSale(t, 4)
	for _, u := range []string{"kept", "gone", "late"} {
		if err := s.buy(ctx, u); err != nil {
			t.Fatal(err)
		}
		s.setMsg(contract.PurchaseGID(s.a.ID, u), dtmcli.StatusSucceed)
	}
	gid := func(u string) string { return contract.PurchaseGID(s.a.ID, u) }
	orders := cancelledReader{gids: []string{gid("kept"), gid("gone"), gid("late")}, cancelled: []string{gid("gone")}, total: 4}
	s.stale(t)
	if _, err := restock.Missing(ctx, catalog{s: s}, s.stock, orders, s.messages); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.stock.Remaining(ctx, s.a.ID); n != 2 {
		t.Fatalf("re-derived stock %d, want 2 (4 units, 2 live orders)", n)
	}
	for _, tc := range []struct {
		user     string
		returned bool
		stock    int64
	}{{"gone", false, 2}, {"late", true, 3}, {"late", false, 3}} {
		got, err := s.stock.ReturnUnit(ctx, s.a.ID, contract.BranchBarrier(contract.CancelGID(s.a.ID, tc.user)))
		if err != nil || got != tc.returned {
			t.Fatalf("return %s's unit = %v, %v; want %v", tc.user, got, err, tc.returned)
		}
		if n, _, _ := s.stock.Remaining(ctx, s.a.ID); n != tc.stock {
			t.Fatalf("stock %d after returning %s's unit, want %d", n, tc.user, tc.stock)
		}
	}
}
