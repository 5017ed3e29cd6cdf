package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Health holds the gauges and counters the alerting rules
// (scripts/monitoring/prometheus/rules.yml) read besides the buy path's:
// the stores' readiness, the age of the oldest unfinished dtm message,
// the re-derivations of the Redis stock and reconciliation's last result.
type Health struct {
	// StoreReady is 1 when the store (redis, mysql) answered the last
	// periodic check, 0 when it did not.
	StoreReady *prometheus.GaugeVec
	// DTMOldest is the age, in seconds, of the oldest message still
	// prepared or submitted in each dtm group (0: none), as of the last
	// periodic check.
	DTMOldest *prometheus.GaugeVec
	// StockRederived counts the activities whose Redis stock was
	// re-derived (missing or stale); StockRederiveFailures, the passes of
	// the re-derivation that failed.
	StockRederived, StockRederiveFailures prometheus.Counter
	// ReconcileViolations is the number of broken promises the last final
	// reconciliation of each activity found (one with no message still
	// prepared or submitted).
	ReconcileViolations *prometheus.GaugeVec
}

func newHealth() Health {
	return Health{
		StoreReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flashsale_store_ready", Help: "1 when the store (redis, mysql) answered flashsale's last periodic check, else 0.",
		}, []string{"store"}),
		DTMOldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flashsale_dtm_oldest_unfinished_seconds", Help: "Age of the oldest message still prepared or submitted whose local step committed, by dtm group (0: none), as of the repair's last pass.",
		}, []string{"group"}),
		StockRederived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flashsale_stock_rederived_total", Help: "Activities whose Redis stock counter, missing or stale, was re-derived.",
		}),
		StockRederiveFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flashsale_stock_rederive_failures_total", Help: "Passes of the re-derivation of missing or stale Redis stock that failed.",
		}),
		ReconcileViolations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flashsale_reconcile_violations", Help: "Broken promises found by the last final reconciliation (no message unsettled) of each activity (GET /admin/v1/reconcile).",
		}, []string{"activity"}),
	}
}

func (h Health) collectors() []prometheus.Collector {
	return []prometheus.Collector{h.StoreReady, h.DTMOldest, h.StockRederived, h.StockRederiveFailures, h.ReconcileViolations}
}

// SetStoreReady records whether store answered.
func (h Health) SetStoreReady(store string, err error) {
	v := 1.0
	if err != nil {
		v = 0
	}
	h.StoreReady.WithLabelValues(store).Set(v)
}

// SetDTMOldest records the oldest unfinished message of each dtm group
// that answered (the zero time: none) at now; the groups that did not
// answer lose their gauge, so that no old age stays shown (the dtm job's
// up tells they are down).
func (h Health) SetDTMOldest(groups []string, oldest map[string]time.Time, now time.Time) {
	for _, g := range groups {
		t, ok := oldest[g]
		switch {
		case !ok:
			h.DTMOldest.DeleteLabelValues(g)
		case t.IsZero():
			h.DTMOldest.WithLabelValues(g).Set(0)
		default:
			h.DTMOldest.WithLabelValues(g).Set(max(now.Sub(t).Seconds(), 0))
		}
	}
}

// SetReconciled records the violations the reconciliation of activity
// found.
func (h Health) SetReconciled(activity int64, violations int) {
	h.ReconcileViolations.WithLabelValues(strconv.FormatInt(activity, 10)).Set(float64(violations))
}
