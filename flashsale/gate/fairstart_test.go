package gate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

// TestFairStartShuffles: buys arriving in the window, one after the other,
// all wait for its end and then go on in an order unrelated to their
// arrival; a buy after the window goes at once.
func TestFairStartShuffles(t *testing.T) {
	f := NewFairStart()
	start := time.Now()
	a := flashsale.Activity{ID: 1, StartAt: start, FairStartMS: 300}
	end, _ := Window(a)
	const n = 200
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !f.Hold(context.Background(), a, time.Now()) {
				t.Errorf("buy %d not let go", i)
			}
			if time.Now().Before(end) {
				t.Errorf("buy %d let go before the window ended", i)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		time.Sleep(200 * time.Microsecond) // arrivals in order
	}
	wg.Wait()
	if len(order) != n {
		t.Fatalf("%d of %d buys let go", len(order), n)
	}
	// Pairs released in their arrival order: about half when shuffled,
	// all of them when served by arrival.
	inOrder := 0
	for i := range order {
		for j := i + 1; j < len(order); j++ {
			if order[i] < order[j] {
				inOrder++
			}
		}
	}
	if share := float64(inOrder) / float64(n*(n-1)/2); share > 0.65 || share < 0.35 {
		t.Errorf("%.2f of the pairs left in their arrival order; want about half", share)
	}
	late := time.Now()
	f.Hold(context.Background(), a, late)
	if time.Since(late) > 10*time.Millisecond {
		t.Error("a buy after the window was held")
	}
	f.Hold(context.Background(), flashsale.Activity{ID: 2, StartAt: start}, time.Now())
}

// TestFairStartHangUp: a held buy whose request ends before the window does
// is refused, not let go early.
func TestFairStartHangUp(t *testing.T) {
	f := NewFairStart()
	a := flashsale.Activity{ID: 3, StartAt: time.Now(), FairStartMS: 500}
	end, _ := Window(a)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if f.Hold(ctx, a, time.Now()) {
		t.Fatal("a buy whose request ended went on")
	}
	if !time.Now().Before(end) {
		t.Fatal("the hang-up was noticed only after the window")
	}
}
