package saletest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/api"
)

// NewActivity opens a sale of total units (NewActivityAt), open from a
// minute ago for an hour, and returns the activity's id.
func (h *Harness) NewActivity(total int) int64 {
	h.t.Helper()
	now := time.Now()
	return h.NewActivityAt(total, now.Add(-time.Minute), now.Add(time.Hour))
}

// NewActivityAt opens a sale of total units from start to end: a product
// "Phone" at 5000, and an activity "sale" of it at 100 with PayTimeout. It
// returns the activity's id, or fails the test.
func (h *Harness) NewActivityAt(total int, start, end time.Time) int64 {
	h.t.Helper()
	p := api.NewProduct{Name: "Phone", Description: "a phone", Price: 5000, ImageURL: "https://example.invalid/p.png"}
	a := api.NewActivity{Name: "sale", Price: 100, Total: total, StartAt: start.UTC(), EndAt: end.UTC(), PayTimeoutSeconds: h.PayTimeout}
	return h.Open(p, a).ID
}

// Open creates product p and activity a selling it (api's OpenSale), or
// fails the test.
func (h *Harness) Open(p api.NewProduct, a api.NewActivity) api.Activity {
	h.t.Helper()
	act, err := h.Admin.OpenSale(h.ctx(), p, a)
	if err != nil {
		h.t.Fatalf("open a sale: %v", err)
	}
	return act
}

// Stats returns act's units in every store (getStats), or fails the test.
func (h *Harness) Stats(act int64) api.Stats {
	h.t.Helper()
	r, err := h.Admin.GetStatsWithResponse(h.ctx(), act)
	if err := api.Expect("getStats", r, err, http.StatusOK); err != nil {
		h.t.Fatal(err)
	}
	return *r.JSON200
}

// RedisStock is st's Redis stock, -1 when the API gives null (a shard's
// counter missing or stale).
func RedisStock(st api.Stats) int64 {
	if st.RedisStock == nil {
		return -1
	}
	return *st.RedisStock
}

// Adjust asks to change act's units by delta under requestID
// (adjustStock) and returns the answer, of status 0 when none came. It
// never fails the test: a goroutine may call it.
func (h *Harness) Adjust(act int64, delta int, requestID string) *api.AdjustStockResponse {
	r, err := h.Admin.AdjustStockWithResponse(h.ctx(), act, api.StockChange{Delta: delta, RequestID: requestID})
	return Got(r, err)
}

// Settle polls the admin API's reconciliation of act (getReconcile) until
// no purchase message of act is prepared or submitted and I1-I5 hold, and
// returns its report; it fails the test after timeout.
func (h *Harness) Settle(act int64, timeout time.Duration) api.ReconcileReport {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := h.Admin.GetReconcileWithResponse(h.ctx(), &api.GetReconcileParams{Activity: act})
		if err == nil && r.JSON200 != nil {
			c := r.JSON200
			if c.Ok && c.Report.Messages["prepared"] == 0 && c.Report.Messages["submitted"] == 0 {
				return c.Report
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not settled after %s: %s", timeout, Show(Got(r, err)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Metric returns the value of a Prometheus sample (its name with labels,
// as printed) from the metrics of c's listener, 0 when absent; it fails
// the test unless they are there.
func (h *Harness) Metric(c *api.ClientWithResponses, sample string) float64 {
	h.t.Helper()
	r, err := c.MetricsWithResponse(h.ctx())
	if err := api.Expect("metrics", r, err, http.StatusOK); err != nil {
		h.t.Fatal(err)
	}
	for _, line := range strings.Split(string(r.Body), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}
