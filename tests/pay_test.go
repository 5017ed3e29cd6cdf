package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestPay: the shopper pays an order through the shopper port; the order
// service charges the simulated provider once per order, whatever is
// asked; only the order's owner can pay it; a provider that fails or
// hangs leaves the order unpaid, and paying again once it is back works.
func TestPay(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	id, _ := s.buyOrder(act, "payer")

	t.Run("OK", func(t *testing.T) {
		r := s.Pay(id, "payer")
		if r.StatusCode() != http.StatusOK || r.JSON200.Status != api.OrderStatusPaid || r.JSON200.ID != id || r.JSON200.PaidAt.IsZero() {
			t.Fatalf("pay = %s, want 200 with the paid order", saletest.Show(r))
		}
		if o := s.Order(act, "payer"); o.Status != api.ShopperOrderStatusPaid {
			t.Fatalf("order status %q after paying", o.Status)
		}
	})
	t.Run("Twice", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if r := s.Pay(id, "payer"); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.OrderStatusPaid {
				t.Fatalf("paying again: %s", saletest.Show(r))
			}
		}
		if charged, refunded, repeated := s.ledger(id); charged != 1 || refunded != 0 || repeated != 0 {
			t.Fatalf("provider: %d charges, %d refunds, %d repeated charges; want 1, 0, 0", charged, refunded, repeated)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		other, _ := s.buyOrder(act, "bystander")
		ctx, payer := t.Context(), s.As("payer")
		pay := func(id int64, editors ...api.RequestEditorFn) func() (int, api.Error) {
			return func() (int, api.Error) { return saletest.ErrorOf(s.Shopper.PayWithResponse(ctx, id, editors...)) }
		}
		for _, tc := range []struct {
			name   string
			do     func() (int, api.Error)
			status int
			code   api.ErrorCode
		}{
			{"SomeoneElses", pay(other, payer), 404, api.ErrorCodeNotFound},
			{"UnknownOrder", pay(999999, payer), 404, api.ErrorCodeNotFound},
			{"OrderIDNotANumber", func() (int, api.Error) {
				return s.Raw("POST", s.shopperURL()+"/api/v1/orders/abc/pay", nil, payer)
			}, 404, api.ErrorCodeNotFound},
			{"NoToken", pay(other), 401, api.ErrorCodeUnauthorized},
			{"StockReturnOnShopperPort", func() (int, api.Error) {
				return saletest.ErrorOf(s.Shopper.ReturnStockWithBodyWithResponse(ctx, &api.ReturnStockParams{}, "application/json", nil))
			}, 404, api.ErrorCodeNotFound},
		} {
			if code, e := tc.do(); code != tc.status || e.Error != tc.code || e.Message == "" {
				t.Errorf("%s: %d %+v, want %d %s", tc.name, code, e, tc.status, tc.code)
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
			if r := s.Pay(oid, user); r.StatusCode() != http.StatusServiceUnavailable || r.JSON503.Error != api.ErrorCodeUnavailable {
				t.Fatalf("pay with the provider told to %s: %s, want 503 unavailable", mode, saletest.Show(r))
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the payment took %s with a 1 s provider timeout", d)
			}
			if o := s.Order(act, user); o.Status != api.ShopperOrderStatusCreated {
				t.Fatalf("order is %q after a failed payment, want created", o.Status)
			}
			s.restartOrders(nil)
			if r := s.Pay(oid, user); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.OrderStatusPaid {
				t.Fatalf("paying once the provider is back: %s", saletest.Show(r))
			}
			if charged, _, _ := s.ledger(oid); charged != 1 {
				t.Fatalf("%d charges, want 1", charged)
			}
		})
	}
	r := s.SettleStores(act, 15*time.Second)
	if r.LiveOrders != 4 || r.RedisStock != 6 || r.DBStock != 6 {
		t.Fatalf("after settlement: %s", r)
	}
}
