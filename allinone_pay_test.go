package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestEmbeddedPayAndTimeout: in the embedded mode (SQLite, the in-process
// Redis and dtm server), one buyer pays and another lets the time to pay
// run out: the unpaid order is cancelled by a cancellation message, its
// unit goes back to both stocks, its buyer can neither pay nor buy again,
// and a newcomer buys the returned unit of a sale that was sold out.
func TestEmbeddedPayAndTimeout(t *testing.T) {
	s := newSale(t, t.TempDir())
	s.start()
	s.PayTimeout = 10
	act := s.NewActivity(2)
	order := func(user string, want api.ShopperOrderStatus, timeout time.Duration) api.Order {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			r := saletest.Got(s.Shopper.GetOrderWithResponse(t.Context(), act, s.As(user)))
			if r.StatusCode() == http.StatusOK && r.JSON200.Status == want {
				return r.JSON200.Order
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's order: %s, want %s", user, saletest.Show(r), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, u := range []string{"payer", "late"} {
		if code, e := s.Buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy for %s: %d %s", u, code, e)
		}
	}
	paid := order("payer", api.ShopperOrderStatusCreated, 10*time.Second)
	late := order("late", api.ShopperOrderStatusCreated, 10*time.Second)
	for i := 0; i < 2; i++ {
		if r := s.Pay(paid.ID, "payer"); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.OrderStatusPaid {
			t.Fatalf("pay #%d: %s", i+1, saletest.Show(r))
		}
	}
	if r := s.Pay(late.ID, "payer"); r.StatusCode() != http.StatusNotFound {
		t.Fatalf("paying someone else's order: %s, want 404", saletest.Show(r))
	}

	order("late", api.ShopperOrderStatusCancelled, 17*time.Second)
	if r := s.Pay(late.ID, "late"); r.StatusCode() != http.StatusConflict || r.JSON409.Error != api.ErrorCodeNotPayable {
		t.Fatalf("paying the cancelled order: %s, want 409 not_payable", saletest.Show(r))
	}
	// The order is cancelled by the message's local step; the unit is back
	// in Redis once its branch ran.
	for deadline := time.Now().Add(10 * time.Second); saletest.RedisStock(s.Stats(act)) != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the unit is not back in Redis: %s", saletest.JSON(s.Stats(act)))
		}
	}
	// The sold-out flag set while the stock was 0 clears at its next poll
	// (50 ms); until then a buy is turned away as sold out.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, e := s.Buy(act, "late")
		if code == http.StatusConflict && e == api.ErrorCodeAlreadyPurchased {
			break
		}
		if e != api.ErrorCodeSoldOut || time.Now().After(deadline) {
			t.Fatalf("the cancelled buyer buys again: %d %s, want 409 already_purchased", code, e)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, e := s.Buy(act, "newcomer")
		if code == http.StatusAccepted {
			break
		}
		if e != api.ErrorCodeSoldOut || time.Now().After(deadline) {
			t.Fatalf("a newcomer buys the returned unit: %d %s", code, e)
		}
		time.Sleep(100 * time.Millisecond)
	}
	order("newcomer", api.ShopperOrderStatusCreated, 10*time.Second)
	r := s.Settle(act, 15*time.Second)
	if r.LiveOrders != 2 || r.RedisStock != 0 || r.DBStock != 0 || r.Cancels[dtmcli.StatusSucceed] != 1 || len(r.Cancels) != 1 {
		t.Fatalf("after settlement: %+v", r)
	}
}
