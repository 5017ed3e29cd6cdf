package metrics

import "time"

// latencyBuckets are the buckets of the purchase's step latencies, seconds.
var latencyBuckets = []float64{.0001, .0002, .0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5}

// ObserveLua records the duration of a purchase's Lua call.
func (m *Metrics) ObserveLua(d time.Duration) { m.LuaSeconds.Observe(d.Seconds()) }

// ObserveDTM records the duration of a purchase's call to the dtm server.
func (m *Metrics) ObserveDTM(call string, d time.Duration) {
	m.DTMSeconds.WithLabelValues(call).Observe(d.Seconds())
}
