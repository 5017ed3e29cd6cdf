package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// newStockUnits returns the gauge of the units left per activity.
func newStockUnits() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flashsale_stock_remaining_units",
		Help: "Units left in Redis per activity, the sum of its shards, as the sold-out poll last read them (every 50 ms while the activity is bought from here).",
	}, []string{"activity"})
}

// ObserveStock records the units left of activity, as the sold-out poll
// read them.
func (m *Metrics) ObserveStock(activityID, units int64) {
	m.StockUnits.WithLabelValues(strconv.FormatInt(activityID, 10)).Set(float64(units))
}
