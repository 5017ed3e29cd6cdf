package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
)

// TestEmbeddedPayAndTimeout: in the embedded mode (SQLite, the in-process
// Redis and dtm server), one buyer pays and another lets the time to pay
// run out: the unpaid order is cancelled by a cancellation message, its
// unit goes back to both stocks, its buyer can neither pay nor buy again,
// and a newcomer buys the returned unit of a sale that was sold out.
func TestEmbeddedPayAndTimeout(t *testing.T) {
	s := newSale(t, t.TempDir())
	s.start()
	code, p := s.call("POST", s.adm+"/admin/v1/products", testAdmin, map[string]any{"name": "Phone", "price": 5000})
	if code != http.StatusCreated {
		t.Fatalf("create product: %d %v", code, p)
	}
	code, a := s.call("POST", s.adm+"/admin/v1/activities", testAdmin, map[string]any{
		"name": "sale", "product_id": p["id"], "price": 100, "total": 2, "pay_timeout_seconds": 10,
		"start_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"end_at":   time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
	if code != http.StatusCreated {
		t.Fatalf("create activity: %d %v", code, a)
	}
	act := int64(a["id"].(float64))
	order := func(user, want string, timeout time.Duration) map[string]any {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			code, body := s.call("GET", fmt.Sprintf("%s/api/v1/activities/%d/order", s.shop, act), shopper(user), nil)
			if code == http.StatusOK && body["status"] == want {
				return body["order"].(map[string]any)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's order: %d %v, want %s", user, code, body, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pay := func(o map[string]any, user string) (int, map[string]any) {
		return s.call("POST", fmt.Sprintf("%s/api/v1/orders/%.0f/pay", s.shop, o["id"]), shopper(user), nil)
	}
	for _, u := range []string{"payer", "late"} {
		if code, e := s.buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy for %s: %d %s", u, code, e)
		}
	}
	paid := order("payer", "created", 10*time.Second)
	late := order("late", "created", 10*time.Second)
	for i := 0; i < 2; i++ {
		if code, body := pay(paid, "payer"); code != http.StatusOK || body["status"] != "paid" {
			t.Fatalf("pay #%d: %d %v", i+1, code, body)
		}
	}
	if code, body := pay(late, "payer"); code != http.StatusNotFound {
		t.Fatalf("paying someone else's order: %d %v, want 404", code, body)
	}

	order("late", "cancelled", 17*time.Second)
	if code, body := pay(late, "late"); code != http.StatusConflict || body["error"] != "not_payable" {
		t.Fatalf("paying the cancelled order: %d %v, want 409 not_payable", code, body)
	}
	// The order is cancelled by the message's local step; the unit is back
	// in Redis once its branch ran.
	for deadline := time.Now().Add(10 * time.Second); s.stats(act)["redis_stock"] != 1.0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the unit is not back in Redis: %v", s.stats(act))
		}
	}
	// The sold-out flag set while the stock was 0 clears at its next poll
	// (50 ms); until then a buy is turned away as sold out.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, e := s.buy(act, "late")
		if code == http.StatusConflict && e == "already_purchased" {
			break
		}
		if e != "sold_out" || time.Now().After(deadline) {
			t.Fatalf("the cancelled buyer buys again: %d %s, want 409 already_purchased", code, e)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, e := s.buy(act, "newcomer")
		if code == http.StatusAccepted {
			break
		}
		if e != "sold_out" || time.Now().After(deadline) {
			t.Fatalf("a newcomer buys the returned unit: %d %s", code, e)
		}
		time.Sleep(100 * time.Millisecond)
	}
	order("newcomer", "created", 10*time.Second)
	r := s.settle(act, 15*time.Second)
	cancels, _ := r["cancels"].(map[string]any)
	if r["live_orders"] != 2.0 || r["redis_stock"] != 0.0 || r["db_stock"] != 0.0 || cancels[dtmcli.StatusSucceed] != 1.0 || len(cancels) != 1 {
		t.Fatalf("after settlement: %v", r)
	}
}
