package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestPay: the shopper pays an order through the shopper port; the order
// service charges the simulated provider once per order, whatever is
// asked; only the order's owner can pay it; a provider that fails or
// hangs leaves the order unpaid, and paying again once it is back works.
func TestPay(t *testing.T) {
	s := newStack(t)
	act := s.newActivity(10)
	id, _ := s.buyOrder(act, "payer")

	t.Run("OK", func(t *testing.T) {
		code, body := s.pay(id, "payer")
		if code != http.StatusOK || body["status"] != "paid" || body["id"] != float64(id) || body["paid_at"] == nil {
			t.Fatalf("pay = %d %v, want 200 with the paid order", code, body)
		}
		if st, _ := s.order(act, "payer"); st != "paid" {
			t.Fatalf("order status %q after paying", st)
		}
	})
	t.Run("Twice", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if code, body := s.pay(id, "payer"); code != http.StatusOK || body["status"] != "paid" {
				t.Fatalf("paying again: %d %v", code, body)
			}
		}
		if charged, refunded, repeated := s.ledger(id); charged != 1 || refunded != 0 || repeated != 0 {
			t.Fatalf("provider: %d charges, %d refunds, %d repeated charges; want 1, 0, 0", charged, refunded, repeated)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		other, _ := s.buyOrder(act, "bystander")
		for _, tc := range []struct {
			name, url, token string
			status           int
			code             string
		}{
			{"SomeoneElses", fmt.Sprintf("%s/api/v1/orders/%d/pay", s.shopperURL(), other), token("payer"), 404, "not_found"},
			{"UnknownOrder", s.shopperURL() + "/api/v1/orders/999999/pay", token("payer"), 404, "not_found"},
			{"OrderIDNotANumber", s.shopperURL() + "/api/v1/orders/abc/pay", token("payer"), 404, "not_found"},
			{"NoToken", fmt.Sprintf("%s/api/v1/orders/%d/pay", s.shopperURL(), other), "", 401, "unauthorized"},
			{"StockReturnOnShopperPort", s.shopperURL() + "/internal/stock/return", "", 404, "not_found"},
		} {
			code, body := s.call("POST", tc.url, tc.token, nil)
			if code != tc.status || body["error"] != tc.code || body["message"] == "" {
				t.Errorf("%s: %d %v, want %d %s", tc.name, code, body, tc.status, tc.code)
			}
		}
		if st, _ := dbOrder(t, act, "bystander"); st != "created" {
			t.Fatalf("bystander's order is %s after others tried to pay it", st)
		}
		if charged, _, _ := s.ledger(other); charged != 0 {
			t.Fatal("bystander's order was charged")
		}
	})
	for _, mode := range []string{"fail", "hang"} {
		t.Run("Provider_"+mode, func(t *testing.T) {
			user := "unlucky_" + mode
			oid, _ := s.buyOrder(act, user)
			s.restartOrders([]string{"-payment-timeout", "1s"}, "PAYMENT_SIMULATE="+mode)
			start := time.Now()
			code, body := s.pay(oid, user)
			if code != http.StatusServiceUnavailable || body["error"] != "unavailable" {
				t.Fatalf("pay with the provider told to %s: %d %v, want 503 unavailable", mode, code, body)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the payment took %s with a 1 s provider timeout", d)
			}
			if st, _ := s.order(act, user); st != "created" {
				t.Fatalf("order is %q after a failed payment, want created", st)
			}
			s.restartOrders(nil)
			if code, body := s.pay(oid, user); code != http.StatusOK || body["status"] != "paid" {
				t.Fatalf("paying once the provider is back: %d %v", code, body)
			}
			if charged, _, _ := s.ledger(oid); charged != 1 {
				t.Fatalf("%d charges, want 1", charged)
			}
		})
	}
	r := s.settle(act, 15*time.Second)
	if r.LiveOrders != 4 || r.RedisStock != 6 || r.DBStock != 6 {
		t.Fatalf("after settlement: %s", r)
	}
}
