package saletest

import (
	"time"

	"github.com/flashsale/flashsale/reconcile"
)

// SettleStores waits until no message of act (purchase, cancellation or
// adjustment) is prepared or submitted and I1-I5 hold, reading the stores
// of Config.Stores directly (reconcile.Check) rather than through the
// API, and returns the report; it fails the test after timeout.
func (h *Harness) SettleStores(act int64, timeout time.Duration) reconcile.Report {
	h.t.Helper()
	if h.stores == nil {
		h.t.Fatal("SettleStores: the harness has no stores (Config.Stores)")
	}
	deadline := time.Now().Add(timeout)
	for {
		r, err := reconcile.Check(h.ctx(), *h.stores, act)
		if err != nil {
			h.t.Fatalf("reconcile: %v", err)
		}
		if r.Unsettled() == 0 && r.OK() {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not settled after %s:\n%s", timeout, r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
