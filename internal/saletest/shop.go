package saletest

import (
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/api"
)

// Secret returns user's start secret for act (getSecret), "" when it is
// refused.
func (h *Harness) Secret(act int64, user string) string {
	return h.secret(act, h.Token(user))
}

func (h *Harness) secret(act int64, token string) string {
	r, err := h.Shopper.GetSecretWithResponse(h.ctx(), act, nil, api.Bearer(token))
	if err != nil || r.JSON200 == nil {
		return ""
	}
	return r.JSON200.Secret
}

// Buy buys a unit of act for user as a shopper's page does: the start
// secret first, then the buy with it. It returns the status and the error
// code ("" on 202; Transport, status 0, when no answer came). It never
// fails the test: a goroutine may call it.
func (h *Harness) Buy(act int64, user string) (int, api.ErrorCode) {
	return h.BuyWith(act, h.Token(user), nil)
}

// BuyWith is Buy with the shopper's token, and with params (nil: none)
// sent with the buy.
func (h *Harness) BuyWith(act int64, token string, params *api.BuyParams) (int, api.ErrorCode) {
	r, err := h.Shopper.BuyWithResponse(h.ctx(), act, params, api.BuyRequest{Secret: h.secret(act, token)}, api.Bearer(token))
	return Outcome(r, err)
}

// Order returns user's purchase in act as the shopper API shows it
// (getOrder), or fails the test.
func (h *Harness) Order(act int64, user string) api.ShopperOrder {
	h.t.Helper()
	r, err := h.Shopper.GetOrderWithResponse(h.ctx(), act, h.As(user))
	if err := api.Expect("getOrder", r, err, http.StatusOK); err != nil {
		h.t.Fatalf("order of %s in %d: %v", user, act, err)
	}
	return *r.JSON200
}

// WaitOrder polls user's purchase in act (Order) until its status is want
// and returns the order; it fails the test after timeout.
func (h *Harness) WaitOrder(act int64, user string, want api.ShopperOrderStatus, timeout time.Duration) api.Order {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o := h.Order(act, user)
		if o.Status == want {
			return o.Order
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("order of %s in %d is %q after %s, want %q: %s", user, act, o.Status, timeout, want, JSON(o.Order))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pay pays order id as user (pay) and returns the answer, of status 0
// when none came. It never fails the test: a goroutine may call it.
func (h *Harness) Pay(id int64, user string) *api.PayResponse {
	r, err := h.Shopper.PayWithResponse(h.ctx(), id, h.As(user))
	return Got(r, err)
}
