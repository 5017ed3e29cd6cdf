package main

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two in the exact range, 2^(subBits-1) per power of two above it, so a
// recorded value is off by less than 1/2^(subBits-1) (1.6%), like an HDR
// histogram of two significant digits.
const subBits = 7

// histMaxMicros bounds the values recorded (larger ones are clamped): an
// hour, far beyond any request's timeout.
const histMaxMicros = int64(time.Hour / time.Microsecond)

// Histogram records latencies in microseconds in log-linear buckets: values
// below 2^subBits exactly, larger ones in 2^(subBits-1) buckets per power of
// two. Recording is a few instructions and no allocation; each generator
// connection owns one and they are merged at the end. The zero value is not
// usable: call NewHistogram.
type Histogram struct {
	counts []int64
	n      int64
	max    int64
	min    int64
	sum    int64
}

// NewHistogram returns an empty Histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]int64, bucketOf(histMaxMicros)+1), min: math.MaxInt64}
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits
	top := v >> shift // in [2^(subBits-1), 2^subBits)
	return 1<<subBits + (shift-1)<<(subBits-1) + int(top-1<<(subBits-1))
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	j := i - 1<<subBits
	shift := j>>(subBits-1) + 1
	top := int64(j&(1<<(subBits-1)-1)) + 1<<(subBits-1)
	return (top+1)<<shift - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d / time.Microsecond)
	if v < 0 {
		v = 0
	}
	if v > histMaxMicros {
		v = histMaxMicros
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
	if v < h.min {
		h.min = v
	}
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
	if o.min < h.min {
		h.min = o.min
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return h.n }

// Max returns the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean returns the mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Quantile returns the value at quantile q (0 < q <= 1): the upper end of
// the bucket holding the ceil(q*n)-th smallest value, never above the
// largest value recorded. It returns 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}

// Latency is a histogram's summary, as reported.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summary returns h's percentiles in milliseconds.
func (h *Histogram) Summary() Latency {
	return Latency{
		Count: h.n, P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
