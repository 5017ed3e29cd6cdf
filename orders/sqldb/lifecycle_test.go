package sqldb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// cancelStep is the DoAndSubmit barrier of user's cancellation in act.
func cancelStep(t *testing.T, act int64, user string) *dtmcli.BranchBarrier {
	t.Helper()
	bb, err := dtmcli.BarrierFrom("msg", contract.CancelGID(act, user), "00", "msg")
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

// newOrder creates user's order in act through the purchase branch and
// returns it.
func newOrder(t *testing.T, s *Store, act int64, user string, payTimeout int) orders.Order {
	t.Helper()
	req := contract.OrderRequest{ActivityID: act, UserID: user, ProductID: 7, Price: 100, PayTimeoutSeconds: payTimeout}
	if err := s.Create(context.Background(), branch(t, contract.PurchaseGID(act, user)), req); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.db.Raw("SELECT id FROM orders WHERE activity_id = ? AND user_id = ?", act, user).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	o, err := s.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func stockOf(t *testing.T, db *gorm.DB, act int64) int {
	t.Helper()
	return count(t, db, "SELECT stock FROM activity_stock WHERE activity_id = ?", act)
}

func TestOrderLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 10, 5)
		o := newOrder(t, s, 10, "u1", 10)
		if o.Status != orders.StatusCreated || o.ExpiresAt == nil || o.ExpiresAt.Sub(o.CreatedAt) != 10*time.Second {
			t.Fatalf("new order %+v: want created, expiring 10 s after creation", o)
		}
		t.Run("Expired", func(t *testing.T) {
			for _, tc := range []struct {
				at   time.Time
				want int
			}{{o.ExpiresAt.Add(-time.Millisecond), 0}, {*o.ExpiresAt, 1}, {o.ExpiresAt.Add(time.Hour), 1}} {
				got, err := s.Expired(ctx, tc.at, 10)
				if err != nil || len(got) != tc.want {
					t.Fatalf("Expired(%s) = %d orders, %v; want %d", tc.at, len(got), err, tc.want)
				}
			}
		})
		t.Run("StartChargeTwice", func(t *testing.T) {
			now := time.Now() // the same millisecond: MySQL changes nothing the second time
			for i := 0; i < 2; i++ {
				if ok, err := s.StartCharge(ctx, o.ID, now); !ok || err != nil {
					t.Fatalf("StartCharge #%d = %v, %v; want true", i+1, ok, err)
				}
			}
		})
		t.Run("Paid", func(t *testing.T) {
			now := time.Now()
			for i, want := range []bool{true, false} {
				ok, err := s.MarkPaid(ctx, o.ID, now)
				if err != nil || ok != want {
					t.Fatalf("MarkPaid #%d = %v, %v; want %v", i+1, ok, err, want)
				}
			}
			p, err := s.Order(ctx, o.ID)
			if err != nil || p.Status != orders.StatusPaid || p.PaidAt == nil || p.Payment != orders.PaymentCharged {
				t.Fatalf("paid order %+v, %v", p, err)
			}
			if err := s.Cancel(ctx, cancelStep(t, 10, "u1"), 10, "u1", now); !errors.Is(err, orders.ErrNotCancellable) {
				t.Fatalf("cancel a paid order: %v, want ErrNotCancellable", err)
			}
			if got, _ := s.Expired(ctx, o.ExpiresAt.Add(time.Hour), 10); len(got) != 0 {
				t.Fatalf("a paid order is listed as expired")
			}
			if n := stockOf(t, db, 10); n != 4 {
				t.Fatalf("DB stock %d, want 4", n)
			}
		})
		if _, err := s.Order(ctx, 999999); contract.ErrorCode(err) != contract.ENotFound {
			t.Fatalf("Order(999999) = %v, want ENotFound", err)
		}
	})
}

// TestCancelExactlyOnce: the cancellation's local step and its redeliveries
// cancel the order and return its unit to the DB stock once.
func TestCancelExactlyOnce(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 11, 5)
		o := newOrder(t, s, 11, "u1", 10)
		for i, want := range []error{nil, dtmcli.ErrDuplicated, dtmcli.ErrDuplicated} {
			err := s.Cancel(ctx, cancelStep(t, 11, "u1"), 11, "u1", time.Now())
			if !errors.Is(err, want) && !(want == nil && err == nil) {
				t.Fatalf("cancel #%d: %v, want %v", i+1, err, want)
			}
		}
		c, err := s.Order(ctx, o.ID)
		if err != nil || c.Status != orders.StatusCancelled || c.CancelledAt == nil {
			t.Fatalf("cancelled order %+v, %v", c, err)
		}
		if n := stockOf(t, db, 11); n != 5 {
			t.Fatalf("DB stock %d, want 5 (4 after the order, +1 once)", n)
		}
		if ok, err := s.MarkPaid(ctx, o.ID, time.Now()); ok || err != nil {
			t.Fatalf("MarkPaid of a cancelled order = %v, %v; want false", ok, err)
		}
		if ok, err := s.StartCharge(ctx, o.ID, time.Now()); ok || err != nil {
			t.Fatalf("StartCharge of a cancelled order = %v, %v; want false", ok, err)
		}
	})
}

// TestCancelWithFullDBStock: a unit that does not fit in the DB stock
// commits nothing, not even the barrier row.
func TestCancelWithFullDBStock(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 12, 5)
		newOrder(t, s, 12, "u1", 10)
		if err := db.Exec("UPDATE activity_stock SET stock = total WHERE activity_id = 12").Error; err != nil {
			t.Fatal(err)
		}
		err := s.Cancel(context.Background(), cancelStep(t, 12, "u1"), 12, "u1", time.Now())
		if !errors.Is(err, orders.ErrDBStockFull) {
			t.Fatalf("Cancel = %v, want ErrDBStockFull", err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM orders WHERE activity_id = 12 AND status = 'created'") +
			count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid = ?", contract.CancelGID(12, "u1")); n != 1 {
			t.Fatalf("a failed cancellation committed something")
		}
	})
}

// TestCancelQuery: the back-check rolls a cancellation forward while the
// order is created and its time to pay over, confirms one whose local step
// committed, and rolls back (for good) one of an order paid first.
func TestCancelQuery(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 13, 5)
		now := time.Now().Add(time.Minute) // every order's 10 s to pay are over

		// The canceller died after Prepare: the back-check does the step.
		a := newOrder(t, s, 13, "ua", 10)
		gidA := contract.CancelGID(13, "ua")
		for i := 0; i < 2; i++ {
			if err := s.CancelQuery(ctx, gidA, 13, "ua", now); err != nil {
				t.Fatalf("back-check #%d of an unpaid order: %v, want nil (rolled forward)", i+1, err)
			}
		}
		if err := s.Cancel(ctx, cancelStep(t, 13, "ua"), 13, "ua", now); !errors.Is(err, dtmcli.ErrDuplicated) {
			t.Fatalf("a late local step after the roll-forward: %v, want ErrDuplicated", err)
		}
		if c, _ := s.Order(ctx, a.ID); c.Status != orders.StatusCancelled {
			t.Fatalf("order after the roll-forward: %s", c.Status)
		}

		// The local step committed before the back-check.
		newOrder(t, s, 13, "ub", 10)
		if err := s.Cancel(ctx, cancelStep(t, 13, "ub"), 13, "ub", now); err != nil {
			t.Fatal(err)
		}
		if err := s.CancelQuery(ctx, contract.CancelGID(13, "ub"), 13, "ub", now); err != nil {
			t.Fatalf("back-check after the local step: %v", err)
		}

		// Paid first: rolled back, and a late local step cannot commit.
		c := newOrder(t, s, 13, "uc", 10)
		if ok, err := s.MarkPaid(ctx, c.ID, now); !ok || err != nil {
			t.Fatal(ok, err)
		}
		for i := 0; i < 2; i++ {
			if err := s.CancelQuery(ctx, contract.CancelGID(13, "uc"), 13, "uc", now); !errors.Is(err, orders.ErrCancelRolledBack) {
				t.Fatalf("back-check #%d of a paid order: %v, want ErrCancelRolledBack", i+1, err)
			}
		}
		if err := s.Cancel(ctx, cancelStep(t, 13, "uc"), 13, "uc", now); !errors.Is(err, dtmcli.ErrDuplicated) {
			t.Fatalf("local step after the rollback: %v, want ErrDuplicated", err)
		}
		// 5 units, 3 orders, 2 cancelled.
		if n := stockOf(t, db, 13); n != 4 {
			t.Fatalf("DB stock %d, want 4", n)
		}
	})
}

// TestCancelQueryUnexpired: a back-check of a cancellation that reaches an
// order still payable (or no order at all) with no local step run cancels
// nothing and answers rolled back: the order stays created and payable,
// the DB stock unchanged, and the barrier open, so that the order's real
// cancellation still succeeds once its time to pay is over.
func TestCancelQueryUnexpired(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 16, 5)
		barriers := func(user string) int {
			return count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid = ?", contract.CancelGID(16, user))
		}

		// Live order: left created, then paid.
		a := newOrder(t, s, 16, "ua", 10)
		for i, at := range []time.Time{time.Now(), a.ExpiresAt.Add(-time.Millisecond)} {
			if err := s.CancelQuery(ctx, contract.CancelGID(16, "ua"), 16, "ua", at); !errors.Is(err, orders.ErrCancelRolledBack) {
				t.Fatalf("back-check #%d of a live order: %v, want ErrCancelRolledBack", i+1, err)
			}
		}
		if o, _ := s.Order(ctx, a.ID); o.Status != orders.StatusCreated || o.CancelledAt != nil {
			t.Fatalf("live order after the back-check: %+v, want created", o)
		}
		if n := stockOf(t, db, 16); n != 4 {
			t.Fatalf("DB stock %d after the back-check of a live order, want 4", n)
		}
		if n := barriers("ua"); n != 0 {
			t.Fatalf("the back-check of a live order left %d barrier rows, want 0", n)
		}
		if ok, err := s.StartCharge(ctx, a.ID, time.Now()); !ok || err != nil {
			t.Fatalf("StartCharge after the back-check = %v, %v; want true", ok, err)
		}
		if ok, err := s.MarkPaid(ctx, a.ID, time.Now()); !ok || err != nil {
			t.Fatalf("MarkPaid after the back-check = %v, %v; want true", ok, err)
		}

		// Live order, unpaid: the back-check before its time to pay is over
		// does not keep its cancellation from succeeding after.
		b := newOrder(t, s, 16, "ub", 10)
		if err := s.CancelQuery(ctx, contract.CancelGID(16, "ub"), 16, "ub", time.Now()); !errors.Is(err, orders.ErrCancelRolledBack) {
			t.Fatalf("back-check of a live order: %v, want ErrCancelRolledBack", err)
		}
		for i := 0; i < 2; i++ {
			if err := s.CancelQuery(ctx, contract.CancelGID(16, "ub"), 16, "ub", *b.ExpiresAt); err != nil {
				t.Fatalf("back-check #%d once the time to pay is over: %v, want nil (rolled forward)", i+1, err)
			}
		}
		if o, _ := s.Order(ctx, b.ID); o.Status != orders.StatusCancelled {
			t.Fatalf("expired order after the back-check: %s, want cancelled", o.Status)
		}

		// No order yet: rolled back, and the order made later is still
		// cancelled at its expiry.
		if err := s.CancelQuery(ctx, contract.CancelGID(16, "uc"), 16, "uc", time.Now()); !errors.Is(err, orders.ErrCancelRolledBack) {
			t.Fatalf("back-check with no order: %v, want ErrCancelRolledBack", err)
		}
		if n := barriers("uc"); n != 0 {
			t.Fatalf("the back-check with no order left %d barrier rows, want 0", n)
		}
		c := newOrder(t, s, 16, "uc", 10)
		if err := s.CancelQuery(ctx, contract.CancelGID(16, "uc"), 16, "uc", c.ExpiresAt.Add(time.Second)); err != nil {
			t.Fatalf("back-check of the later order once expired: %v, want nil", err)
		}
		// 5 units, 3 orders: a paid, b and c cancelled.
		if n := stockOf(t, db, 16); n != 4 {
			t.Fatalf("DB stock %d, want 4", n)
		}
	})
}

// TestPayRacesCancel: for each of 10 orders, 8 payments and 8 cancellation
// attempts (the local step and the back-check) are released at once; each
// order ends exactly one of paid or cancelled, and the DB stock holds one
// unit per cancelled order.
func TestPayRacesCancel(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		const n = 10
		seedStock(t, db, 14, n)
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = newOrder(t, s, 14, fmt.Sprintf("r%d", i), 10).ID
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		paid := map[int64]int{}
		retried := 0
		start := make(chan struct{})
		for i, id := range ids {
			user := fmt.Sprintf("r%d", i)
			for k := 0; k < 8; k++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					ok, err := s.MarkPaid(ctx, id, time.Now())
					if err != nil {
						t.Logf("pay %d: %v", id, err)
					}
					if ok {
						mu.Lock()
						paid[id]++
						mu.Unlock()
					}
				}()
				go func() {
					defer wg.Done()
					<-start
					var err error
					if k%2 == 0 {
						err = s.Cancel(ctx, cancelStep(t, 14, user), 14, user, time.Now())
					} else {
						// The back-check rolls forward only past the time to pay.
						err = s.CancelQuery(ctx, contract.CancelGID(14, user), 14, user, time.Now().Add(time.Minute))
					}
					// Losers see the barrier, a paid order, or (MySQL) a
					// deadlock on the barrier's unique key: dtm retries.
					if err != nil && !errors.Is(err, dtmcli.ErrDuplicated) && !errors.Is(err, orders.ErrNotCancellable) && !errors.Is(err, orders.ErrCancelRolledBack) {
						mu.Lock()
						retried++
						mu.Unlock()
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		cancelled := 0
		for _, id := range ids {
			o, err := s.Order(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case o.Status == orders.StatusPaid && paid[id] == 1:
			case o.Status == orders.StatusCancelled && paid[id] == 0:
				cancelled++
			default:
				t.Errorf("order %d is %s after %d successful payments", id, o.Status, paid[id])
			}
		}
		if got := stockOf(t, db, 14); got != cancelled {
			t.Errorf("DB stock %d, want %d (one per cancelled order)", got, cancelled)
		}
		t.Logf("%d paid, %d cancelled; %d cancellation attempts failed and would be retried", n-cancelled, cancelled, retried)
	})
}

// TestRefundsDue lists cancelled orders that may hold a charge, once the
// grace period after their last change has passed, until marked refunded.
func TestRefundsDue(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 15, 5)
		o := newOrder(t, s, 15, "u1", 10)
		newOrder(t, s, 15, "u2", 10) // cancelled without a charge: never due
		now := time.Now()
		if ok, err := s.StartCharge(ctx, o.ID, now); !ok || err != nil {
			t.Fatal(ok, err)
		}
		for _, u := range []string{"u1", "u2"} {
			if err := s.Cancel(ctx, cancelStep(t, 15, u), 15, u, now); err != nil {
				t.Fatal(err)
			}
		}
		if due, err := s.RefundsDue(ctx, now.Add(-time.Second), 10); err != nil || len(due) != 0 {
			t.Fatalf("due within the grace period: %v, %v", due, err)
		}
		due, err := s.RefundsDue(ctx, now.Add(time.Minute), 10)
		if err != nil || len(due) != 1 || due[0].ID != o.ID {
			t.Fatalf("RefundsDue = %+v, %v; want order %d", due, err, o.ID)
		}
		if err := s.MarkRefunded(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.RefundsDue(ctx, now.Add(time.Minute), 10); len(due) != 0 {
			t.Fatalf("still due after the refund: %+v", due)
		}
	})
}
