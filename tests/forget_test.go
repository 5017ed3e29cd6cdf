package tests

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/saletest"
)

// The tests of this file make dtm's store (or the orders database) lose
// writes it acknowledged, deterministically: a snapshot taken at a chosen
// point, the store SIGKILLed and restarted from it. Nothing in them calls
// a repair: the services notice the loss and repair it themselves.
//
// IT_REPAIR=off starts the services with their repair switched off
// (FLASHSALE_REPAIR=off, ORDERS_REPAIR=off), which makes every test here
// fail: the check that they test the repair.

// repairEnv returns the services' environment of IT_REPAIR.
func repairEnv() (flashsale, orders []string) {
	if os.Getenv("IT_REPAIR") == "off" {
		return []string{"FLASHSALE_REPAIR=off"}, []string{"ORDERS_REPAIR=off"}
	}
	return nil, nil
}

// repairBound is how long after its store answers again a lost message
// may take to end as its order: the epoch watch (1 s), the repair's
// reads, dtm's branch call, and slack for a loaded machine.
const repairBound = 10 * time.Second

// dtmStore is the run's dtm store (env.dtmStore) as a test drives it.
type dtmStore struct {
	t  *testing.T
	st *sharedStore
}

// snapshot saves the store's state now: forget returns to it.
func (d *dtmStore) snapshot() {
	d.t.Helper()
	if err := d.st.snapshot(); err != nil {
		d.t.Fatal(err)
	}
}

// forget SIGKILLs the store and restarts it from the snapshot.
func (d *dtmStore) forget() {
	d.t.Helper()
	if err := d.st.forget(); err != nil {
		d.t.Fatal(err)
	}
}

// newForgetfulStack starts a stack (its dtm on the run's store, as every
// stack's) with the repair as IT_REPAIR says, and the store to make it
// forget.
func newForgetfulStack(t *testing.T, flashsaleEnv ...string) (*stack, *dtmStore) {
	t.Helper()
	needBinaries(t, "redis-server") // the run's dtm store is one then
	fenv, oenv := repairEnv()
	s := newStackWith(t, stackOptions{flashsaleEnv: append(fenv, flashsaleEnv...), ordersEnv: oenv})
	return s, &dtmStore{t: t, st: env.dtmStore}
}

// loseStore kills dtm and its store, restarts the store from its snapshot
// and dtm on it, and checks that dtm no longer knows gid.
func (s *stack) loseStore(store *dtmStore, gid string) time.Time {
	s.t.Helper()
	s.dtm.Kill()
	store.forget()
	startProc(s.t, s.dtm)
	if st := s.dtmStatus(gid); st != dtmclient.NoMessage {
		s.t.Fatalf("after the loss dtm still knows %s (%s)", gid, st)
	}
	return time.Now()
}

// waitOrders waits until act has n orders, at most bound after since.
func (s *stack) waitOrders(act int64, n int, since time.Time, bound time.Duration) time.Duration {
	s.t.Helper()
	for {
		got := orderCount(s.t, act)
		if got == n {
			return time.Since(since)
		}
		if got > n {
			s.t.Fatalf("activity %d has %d orders, want %d", act, got, n)
		}
		if time.Since(since) > bound {
			s.t.Fatalf("activity %d has %d orders %s after the store came back, want %d", act, got, bound, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStoreForgetsPurchases: dtm's store loses the messages of 30
// purchases, 10 whose orders were created before the loss and 20 whose
// units were taken while the order service was down. Every one of them
// ends as exactly one order within seconds of the store answering again,
// the stores agree and reconcile is clean.
func TestStoreForgetsPurchases(t *testing.T) {
	s, store := newForgetfulStack(t)
	act := s.NewActivity(50)
	store.snapshot()
	buyAll := func(prefix string, n int) {
		for i := range n {
			if code, e := s.Buy(act, fmt.Sprintf("%s%d", prefix, i)); code != http.StatusAccepted {
				t.Fatalf("buy %s%d: %d %s", prefix, i, code, e)
			}
		}
	}
	buyAll("early", 10)
	s.waitOrders(act, 10, time.Now(), 15*time.Second)
	s.orders.Kill()
	buyAll("late", 20)

	back := s.loseStore(store, contract.PurchaseGID(act, "late0"))
	startProc(t, s.orders)
	took := s.waitOrders(act, 30, back, repairBound)
	t.Logf("30 orders %s after dtm's store came back without their messages", took.Round(10*time.Millisecond))
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 30 || r.RedisStock != 20 || r.DBStock != 20 || r.Messages[dtmcli.StatusSucceed] != 30 {
		t.Fatalf("after the repair: %s", r)
	}
	// Each of the 30 purchases is resubmitted once; in a run of several
	// tests the repair also resubmits what earlier tests left.
	want := make([]string, 0, 30)
	for i := range 10 {
		want = append(want, contract.PurchaseGID(act, fmt.Sprintf("early%d", i)))
	}
	for i := range 20 {
		want = append(want, contract.PurchaseGID(act, fmt.Sprintf("late%d", i)))
	}
	checkRepaired(t, repaired(s.flashsale, "purchase_resubmitted"),
		s.Metric(s.Admin, `flashsale_repairs_total{kind="purchase_resubmitted"}`), want...)
	for _, u := range []string{"early0", "late19"} {
		if o := s.Order(act, u); o.Status != api.ShopperOrderStatusCreated {
			t.Fatalf("%s's order: %s", u, saletest.JSON(o))
		}
	}
}
