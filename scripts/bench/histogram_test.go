package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	// Every value falls in a bucket whose upper end is >= the value and
	// within the histogram's precision of it; buckets are monotonic.
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 65535, 1 << 20, 123456789, histMaxMicros} {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < bucketOf of a smaller value (%d)", v, b, prev)
		}
		prev = b
		hi := bucketHigh(b)
		if hi < v {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d < %d", v, hi, v)
		}
		if rel := float64(hi-v) / math.Max(1, float64(v)); rel > 1.0/(1<<(subBits-1)) {
			t.Fatalf("value %d reported as %d: error %.3f over the precision", v, hi, rel)
		}
		if b > 0 && bucketHigh(b-1) >= v {
			t.Fatalf("value %d also fits bucket %d (high %d)", v, b-1, bucketHigh(b-1))
		}
	}
}

func TestQuantilesMatchExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var exact []int64
	for range 100000 {
		// a long-tailed mix: most around 2 ms, some up to a second
		v := int64(r.ExpFloat64() * 2000)
		if r.IntN(100) == 0 {
			v = int64(r.IntN(1_000_000))
		}
		exact = append(exact, v)
		h.Record(time.Duration(v) * time.Microsecond)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := exact[int(math.Ceil(q*float64(len(exact))))-1]
		got := h.Quantile(q).Microseconds()
		if got < want || float64(got-want) > float64(want)/(1<<(subBits-1))+1 {
			t.Errorf("q%.3f: got %d us, exact %d us", q, got, want)
		}
	}
	if h.Max().Microseconds() != exact[len(exact)-1] {
		t.Errorf("max %v, want %d us", h.Max(), exact[len(exact)-1])
	}
}

func TestMergeEqualsOneHistogram(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 5000 {
		d := time.Duration(i*i) * time.Microsecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	if a.Summary() != all.Summary() {
		t.Fatalf("merged %+v, want %+v", a.Summary(), all.Summary())
	}
	if NewHistogram().Quantile(0.99) != 0 {
		t.Fatal("empty histogram should report 0")
	}
}
