package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
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

// order returns user's order status in act and the order, as the shopper
// API shows them.
func (s *stack) order(act int64, user string) (string, map[string]any) {
	s.t.Helper()
	code, body := s.call("GET", s.orderURL(act), token(user), nil)
	if code != http.StatusOK {
		s.t.Fatalf("order of %s in %d: %d %v", user, act, code, body)
	}
	o, _ := body["order"].(map[string]any)
	st, _ := body["status"].(string)
	return st, o
}

// waitOrder polls user's order in act until its status is want and returns
// the order.
func (s *stack) waitOrder(act int64, user, want string, timeout time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, o := s.order(act, user)
		if st == want {
			return o
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("order of %s in %d is %q after %s, want %q: %v", user, act, st, timeout, want, o)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// buyOrder buys for user and waits for the order; it returns the order id
// and when it expires.
func (s *stack) buyOrder(act int64, user string) (int64, time.Time) {
	s.t.Helper()
	if code, e := s.buy(act, user); code != http.StatusAccepted {
		s.t.Fatalf("buy for %s: %d %s", user, code, e)
	}
	o := s.waitOrder(act, user, "created", 10*time.Second)
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
	exp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(o["expires_at"]))
	if err != nil {
		s.t.Fatalf("order %v: expires_at: %v", o, err)
	}
	return int64(o["id"].(float64)), exp
}

// pay pays order id as user and returns the status and body.
func (s *stack) pay(id int64, user string) (int, map[string]any) {
	return s.call("POST", fmt.Sprintf("%s/api/v1/orders/%d/pay", s.shopperURL(), id), token(user), nil)
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
