package payment_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/orders"
	"github.com/flashsale/flashsale/orders/payment"
	"github.com/flashsale/flashsale/orders/paysim"
	"github.com/flashsale/flashsale/orders/sqldb"
)

// counting wraps the simulated provider and counts the calls made to it,
// so that a test sees a charge the provider's idempotency would hide.
type counting struct {
	*paysim.Provider
	charges atomic.Int32
	// gate, when set, holds every Charge until it is closed.
	gate chan struct{}
}

func (c *counting) Charge(ctx context.Context, id, amount int64) error {
	c.charges.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Provider.Charge(ctx, id, amount)
}

type env struct {
	t     *testing.T
	store *sqldb.Store
	prov  *counting
	svc   *payment.Service
	now   time.Time
	ctx   context.Context
}

const timeout = 200 * time.Millisecond

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqlconn.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO activity_stock (activity_id, total, stock) VALUES (1, 10, 10)").Error; err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim, err := paysim.New("ok", log)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: sqldb.New(db), prov: &counting{Provider: sim}, ctx: context.Background()}
	e.now = time.Now()
	e.svc = payment.New(e.store, e.prov, timeout, func() time.Time { return e.now }, log)
	return e
}

// order creates user's order through the purchase branch (time to pay: 10 s).
func (e *env) order(user string) orders.Order {
	e.t.Helper()
	gid := contract.PurchaseGID(1, user)
	bb, _ := dtmcli.BarrierFrom("msg", gid, "01", "action")
	req := contract.OrderRequest{ActivityID: 1, UserID: user, ProductID: 7, Price: 100, PayTimeoutSeconds: 10}
	if err := e.store.Create(e.ctx, bb, req); err != nil {
		e.t.Fatal(err)
	}
	for id := int64(1); id < 100; id++ {
		if o, err := e.store.Order(e.ctx, id); err == nil && o.GID == gid {
			return o
		}
	}
	e.t.Fatalf("no order for %s", user)
	return orders.Order{}
}

func (e *env) cancel(o orders.Order) {
	e.t.Helper()
	bb, _ := dtmcli.BarrierFrom("msg", contract.CancelGID(o.ActivityID, o.UserID), "00", "msg")
	if err := e.store.Cancel(e.ctx, bb, o.ActivityID, o.UserID, e.now); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) status(id int64) string {
	e.t.Helper()
	o, err := e.store.Order(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.Status
}

func TestPay(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		o := e.order("u1")
		p, err := e.svc.Pay(e.ctx, o.ID, "u1")
		if err != nil || p.Status != orders.StatusPaid || p.PaidAt == nil {
			t.Fatalf("Pay = %+v, %v", p, err)
		}
		if e.prov.Holds(o.ID) != 100 {
			t.Fatalf("the provider holds %d, want 100", e.prov.Holds(o.ID))
		}
	})
	t.Run("Twice", func(t *testing.T) {
		e := newEnv(t)
		o := e.order("u1")
		for i := 0; i < 3; i++ {
			if p, err := e.svc.Pay(e.ctx, o.ID, "u1"); err != nil || p.Status != orders.StatusPaid {
				t.Fatalf("pay #%d = %+v, %v", i+1, p, err)
			}
		}
		if n := e.prov.charges.Load(); n != 1 {
			t.Fatalf("%d charges asked for, want 1", n)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t)
		o := e.order("u1")
		for _, tc := range []struct {
			id   int64
			user string
		}{{o.ID, "mallory"}, {999, "u1"}} {
			if _, err := e.svc.Pay(e.ctx, tc.id, tc.user); contract.ErrorCode(err) != contract.ENotFound {
				t.Fatalf("Pay(%d, %s) = %v, want ENotFound", tc.id, tc.user, err)
			}
		}
		if e.prov.charges.Load() != 0 || e.status(o.ID) != orders.StatusCreated {
			t.Fatal("a refused payment changed something")
		}
	})
	t.Run("ErrNotPayableCancelled", func(t *testing.T) {
		e := newEnv(t)
		o := e.order("u1")
		e.cancel(o)
		if _, err := e.svc.Pay(e.ctx, o.ID, "u1"); contract.ErrorCode(err) != contract.ENotPayable {
			t.Fatalf("Pay = %v, want ENotPayable", err)
		}
		if e.prov.charges.Load() != 0 {
			t.Fatal("a cancelled order was charged")
		}
	})
	t.Run("ErrNotPayableExpired", func(t *testing.T) {
		e := newEnv(t)
		o := e.order("u1")
		e.now = o.ExpiresAt.Add(time.Millisecond)
		if _, err := e.svc.Pay(e.ctx, o.ID, "u1"); contract.ErrorCode(err) != contract.ENotPayable {
			t.Fatalf("Pay = %v, want ENotPayable", err)
		}
		if e.prov.charges.Load() != 0 || e.status(o.ID) != orders.StatusCreated {
			t.Fatal("an expired order was charged or changed")
		}
	})
	for _, mode := range []string{paysim.ModeFail, paysim.ModeHang} {
		t.Run("ProviderFails_"+mode, func(t *testing.T) {
			e := newEnv(t)
			o := e.order("u1")
			e.prov.Set(mode)
			start := time.Now()
			if _, err := e.svc.Pay(e.ctx, o.ID, "u1"); contract.ErrorCode(err) != contract.EUnavailable {
				t.Fatalf("Pay = %v, want EUnavailable", err)
			}
			if d := time.Since(start); d > timeout+time.Second {
				t.Fatalf("Pay took %s with a %s provider timeout", d, timeout)
			}
			if e.status(o.ID) != orders.StatusCreated || e.prov.Holds(o.ID) != 0 {
				t.Fatal("a failed payment changed the order or charged it")
			}
			e.prov.Set(paysim.ModeOK)
			if p, err := e.svc.Pay(e.ctx, o.ID, "u1"); err != nil || p.Status != orders.StatusPaid {
				t.Fatalf("paying again once the provider is back: %+v, %v", p, err)
			}
		})
	}
}

// TestPayLosesToCancel: the order is cancelled while its charge is in
// flight; the payment answers ENotPayable and the charge is refunded.
func TestPayLosesToCancel(t *testing.T) {
	e := newEnv(t)
	o := e.order("u1")
	e.prov.gate = make(chan struct{})
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err = e.svc.Pay(e.ctx, o.ID, "u1")
	}()
	for e.prov.charges.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	e.cancel(o)
	close(e.prov.gate)
	wg.Wait()
	if contract.ErrorCode(err) != contract.ENotPayable {
		t.Fatalf("Pay = %v, want ENotPayable", err)
	}
	if e.status(o.ID) != orders.StatusCancelled || e.prov.Holds(o.ID) != 0 || e.prov.Charges() != 1 {
		t.Fatalf("status %s, provider holds %d after %d charges; want cancelled, 0 after 1", e.status(o.ID), e.prov.Holds(o.ID), e.prov.Charges())
	}
	if due, _ := e.store.RefundsDue(e.ctx, e.now.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("refund still due: %+v", due)
	}
}

// TestRefundDue: a charge whose outcome was never recorded (the process
// died after the provider charged) is refunded once the order is cancelled
// and the grace period has passed.
func TestRefundDue(t *testing.T) {
	e := newEnv(t)
	o := e.order("u1")
	if ok, err := e.store.StartCharge(e.ctx, o.ID, e.now); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := e.prov.Charge(e.ctx, o.ID, o.Price); err != nil {
		t.Fatal(err)
	}
	e.cancel(o)
	if n, err := e.svc.RefundDue(e.ctx, 10); n != 0 || err != nil {
		t.Fatalf("refunded %d (%v) within the grace period", n, err)
	}
	e.now = e.now.Add(time.Minute)
	if n, err := e.svc.RefundDue(e.ctx, 10); n != 1 || err != nil {
		t.Fatalf("RefundDue = %d, %v; want 1", n, err)
	}
	if e.prov.Holds(o.ID) != 0 {
		t.Fatal("the charge was not refunded")
	}
	if n, _ := e.svc.RefundDue(e.ctx, 10); n != 0 {
		t.Fatalf("refunded again: %d", n)
	}
}
