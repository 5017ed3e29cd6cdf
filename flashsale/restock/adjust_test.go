package restock_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/restock"
	"github.com/flashsale/flashsale/internal/contract"
)

// ledgerReader is the sale's orders with a DB ledger that adjustments
// change, as mysqldb's does: the total and the applied adjustments move
// together.
type ledgerReader struct {
	orderReader
	mu      sync.Mutex // mu guards total and applied
	total   int
	applied map[string]bool
}

func (r *ledgerReader) Ledger(context.Context, int64) (flashsale.Ledger, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := flashsale.Ledger{Total: r.total, Applied: map[string]bool{}}
	for g := range r.applied {
		l.Applied[g] = true
	}
	return l, nil
}

func (r *ledgerReader) apply(gid string, delta int) {
	r.mu.Lock()
	r.total += delta
	r.applied[gid] = true
	r.mu.Unlock()
}

// TestRederiveWithAdjustments: a re-derivation counts what the DB total
// includes once and what is still on its way once. A removal whose units
// left Redis but not yet the DB is subtracted; an addition the DB total
// includes but whose units had not reached Redis is counted, and its
// branch, delivered after, adds nothing more; an addition whose local step
// commits after the re-derivation still adds its units through its branch.
func TestRederiveWithAdjustments(t *testing.T) {
	ctx := context.Background()
	s := newSale(t, 10)
	for _, u := range []string{"u1", "u2"} {
		if err := s.buy(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	r := &ledgerReader{orderReader: orderReader{s: s}, total: 10, applied: map[string]bool{}}
	s.orders = []string{contract.PurchaseGID(s.a.ID, "u1"), contract.PurchaseGID(s.a.ID, "u2")}

	// A removal of 3: its local step took the units from Redis, its
	// message is submitted, its branch has not lowered the DB total.
	remove := contract.Adjustment{ActivityID: s.a.ID, Delta: -3, RequestID: "r1"}.GID()
	s.setMsg(remove, dtmcli.StatusPrepared)
	if err := s.stock.TakeUnits(ctx, s.a.ID, contract.MsgBarrier(remove), 3); err != nil {
		t.Fatal(err)
	}
	s.setMsg(remove, dtmcli.StatusSubmitted)
	// An addition of 4 whose local step committed (the DB total is 14)
	// but whose branch has not reached Redis.
	add := contract.Adjustment{ActivityID: s.a.ID, Delta: 4, RequestID: "a1"}.GID()
	r.apply(add, 4)
	s.setMsg(add, dtmcli.StatusSubmitted)
	// A removal whose local step never ran (aborted): nothing to count.
	s.setMsg(contract.Adjustment{ActivityID: s.a.ID, Delta: -1, RequestID: "r2"}.GID(), dtmcli.StatusFailed)

	s.stale(t)
	if _, err := restock.Missing(ctx, catalog{s: s}, s.stock, r, s.messages); err != nil {
		t.Fatal(err)
	}
	// 14 total - 2 orders - 3 on their way out.
	if n, _, _ := s.stock.Remaining(ctx, s.a.ID); n != 9 {
		t.Fatalf("re-derived stock %d, want 9", n)
	}
	// The addition's branch arrives: already counted.
	if added, err := s.stock.AddUnits(ctx, s.a.ID, contract.BranchBarrier(add), 4); err != nil || added {
		t.Fatalf("late branch of a counted addition: added %v, %v", added, err)
	}
	// The removal's branch lowers the DB total: Redis is unchanged and
	// the stores agree (9 + 2 orders = 11 = 14 - 3).
	r.apply(remove, -3)
	// An addition committed after the re-derivation arrives in full.
	late := contract.Adjustment{ActivityID: s.a.ID, Delta: 5, RequestID: "a2"}.GID()
	r.apply(late, 5)
	if added, err := s.stock.AddUnits(ctx, s.a.ID, contract.BranchBarrier(late), 5); err != nil || !added {
		t.Fatalf("branch of a later addition: added %v, %v", added, err)
	}
	n, _, _ := s.stock.Remaining(ctx, s.a.ID)
	if want := int64(r.total - len(s.orders)); n != want {
		t.Fatalf("Redis stock %d, want total %d - %d orders = %d", n, r.total, len(s.orders), want)
	}
}

// TestRederiveClosesEndedActivity: a re-derivation closes an activity
// that is over, so a restart that lost the closed marker reopens nothing.
func TestRederiveClosesEndedActivity(t *testing.T) {
	ctx := context.Background()
	s := newSale(t, 5)
	s.a.EndAt = time.Now().Add(-time.Second)
	s.stale(t)
	if _, err := s.missing(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.buy(ctx, "after"); err != flashsale.ErrClosed {
		t.Fatalf("buy after the end: %v, want ErrClosed", err)
	}
}

// multi lists several sales' activities, orders and messages, as the
// stores do.
type multi struct {
	flashsale.Catalog
	flashsale.OrderReader
	sales map[int64]*sale
	lists int // listings of the dtm server asked for
}

func (m *multi) Activities(context.Context) ([]flashsale.Activity, error) {
	var out []flashsale.Activity
	for _, s := range m.sales {
		out = append(out, s.a)
	}
	return out, nil
}

func (m *multi) OrderGIDs(_ context.Context, id int64) ([]string, []string, error) {
	return append([]string(nil), m.sales[id].orders...), nil, nil
}

func (m *multi) Ledger(_ context.Context, id int64) (flashsale.Ledger, error) {
	return flashsale.Ledger{Total: m.sales[id].a.Total}, nil
}

func (m *multi) messages(ctx context.Context, ids ...int64) (map[string]string, error) {
	m.lists++
	out := map[string]string{}
	for _, id := range ids {
		got, _ := m.sales[id].messages(ctx)
		for g, st := range got {
			out[g] = st
		}
	}
	return out, nil
}

// TestRederiveManyInOnePass: after a restart makes every counter stale,
// one pass re-derives them all from one listing of the dtm server, each
// from its own messages only (the listing holds every activity's).
func TestRederiveManyInOnePass(t *testing.T) {
	ctx := context.Background()
	m := &multi{sales: map[int64]*sale{}}
	for i, total := range []int{5, 7, 9} {
		s := newSale(t, total)
		for j := 0; j <= i; j++ { // 1, 2, 3 purchases on their way
			if err := s.buy(ctx, fmt.Sprintf("u%d", j)); err != nil {
				t.Fatal(err)
			}
		}
		s.stale(t)
		m.sales[s.a.ID] = s
	}
	n, err := restock.Missing(ctx, m, m.sales[firstID(m)].stock, m, m.messages)
	if err != nil || n != 3 || m.lists != 1 {
		t.Fatalf("re-derived %d activities (%v) with %d listings; want 3 with 1", n, err, m.lists)
	}
	for _, s := range m.sales {
		want := int64(s.a.Total - len(s.msgs))
		if got, ok, _ := s.stock.Remaining(ctx, s.a.ID); !ok || got != want {
			t.Fatalf("activity of %d units, %d purchases: stock %d (fresh %v), want %d", s.a.Total, len(s.msgs), got, ok, want)
		}
	}
}

func firstID(m *multi) int64 {
	for id := range m.sales {
		return id
	}
	return 0
}
