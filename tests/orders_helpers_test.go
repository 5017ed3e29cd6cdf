package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// restartOrders kills the order service and starts it again with args and
// env replacing the fault points, payment simulation and flags it was
// started with.
func (s *stack) restartOrders(args []string, env ...string) {
	s.t.Helper()
	s.orders.Kill()
	base := s.orders.Env[:0:0]
	for _, kv := range s.orders.Env {
		if !strings.HasPrefix(kv, "FLASHSALE_FAULTPOINTS=") && !strings.HasPrefix(kv, "PAYMENT_SIMULATE=") {
			base = append(base, kv)
		}
	}
	s.orders.Env = append(base, env...)
	s.orders.Args = args
	startProc(s.t, s.orders)
}

// buyOrder buys for user and waits for the order; it returns the order id
// and when it expires.
func (s *stack) buyOrder(act int64, user string) (int64, time.Time) {
	s.t.Helper()
	if code, e := s.Buy(act, user); code != http.StatusAccepted {
		s.t.Fatalf("buy for %s: %d %s", user, code, e)
	}
	o := s.WaitOrder(act, user, api.ShopperOrderStatusCreated, 10*time.Second)
	// The order is visible as soon as the branch's transaction commits, a
	// moment before dtm hears the branch's answer; callers that restart the
	// order service next would cut that answer off and leave the message
	// to dtm's retry, 18 s later. Wait for the message to succeed too.
	gid := fmt.Sprintf("flash-sale-%d-%s", act, user)
	for deadline := time.Now().Add(10 * time.Second); s.dtmStatus(gid) != dtmcli.StatusSucceed; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("purchase %s: order created, message %s after 10s", gid, s.dtmStatus(gid))
		}
	}
	if o.ExpiresAt.IsZero() {
		s.t.Fatalf("order %s: no expires_at", saletest.JSON(o))
	}
	return o.ID, o.ExpiresAt
}

// ledger counts what the simulated payment provider logged for order id:
// charges and refunds made (each at most once per order), and charges
// asked again of an order already charged.
func (s *stack) ledger(id int64) (charged, refunded, repeated int) {
	count := func(msg string) int {
		n := 0
		for _, l := range s.orders.Lines(`"msg":"` + msg + `"`) {
			var e struct{ Order int64 }
			if json.Unmarshal([]byte(l), &e) == nil && e.Order == id {
				n++
			}
		}
		return n
	}
	return count("payment charged"), count("payment refunded"), count("payment charge repeated")
}

// dbOrder reads user's order in act from MySQL: its status and payment
// state.
func dbOrder(t *testing.T, act int64, user string) (status, payment string) {
	t.Helper()
	if err := env.db.QueryRow("SELECT status, payment_state FROM orders WHERE activity_id = ? AND user_id = ?", act, user).Scan(&status, &payment); err != nil {
		t.Fatal(err)
	}
	return status, payment
}

// dbStock reads the activity's DB stock.
func dbStock(t *testing.T, act int64) int {
	t.Helper()
	var n int
	if err := env.db.QueryRow("SELECT stock FROM activity_stock WHERE activity_id = ?", act).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
