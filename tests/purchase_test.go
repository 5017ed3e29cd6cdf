package tests

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// outcomes counts answers as "<status> <code>".
type outcomes struct {
	mu sync.Mutex
	m  map[string]int
}

func (o *outcomes) add(code int, e api.ErrorCode) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]int{}
	}
	o.m[fmt.Sprintf("%d %s", code, e)]++
}

func TestConcurrentDistinctUsers(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(100)
	var got outcomes
	var wg sync.WaitGroup
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got.add(s.Buy(act, fmt.Sprintf("user%d", i)))
		}(i)
	}
	wg.Wait()
	want := map[string]int{"202 ": 100, "409 sold_out": 300}
	if fmt.Sprint(got.m) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got.m, want)
	}
	r := s.SettleStores(act, 30*time.Second)
	if r.LiveOrders != 100 || r.RedisStock != 0 || r.DBStock != 0 {
		t.Fatalf("after settlement: %s", r)
	}
}

func TestConcurrentAttemptsOfOneUser(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(100)
	var got outcomes
	var wg sync.WaitGroup
	for u := 0; u < 50; u++ {
		for k := 0; k < 8; k++ {
			wg.Add(1)
			go func(u int) {
				defer wg.Done()
				got.add(s.Buy(act, fmt.Sprintf("repeat%d", u)))
			}(u)
		}
	}
	wg.Wait()
	want := map[string]int{"202 ": 50, "409 already_purchased": 350}
	if fmt.Sprint(got.m) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got.m, want)
	}
	r := s.SettleStores(act, 30*time.Second)
	if r.LiveOrders != 50 || r.RedisStock != 50 || r.DBStock != 50 {
		t.Fatalf("after settlement: %s", r)
	}
}

func TestOrderStatus(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(5)
	if o := s.Order(act, "watcher"); o.Status != api.ShopperOrderStatusNone {
		t.Fatalf("before buying: %s", saletest.JSON(o))
	}
	if code, e := s.Buy(act, "watcher"); code != http.StatusAccepted {
		t.Fatalf("buy: %d %s", code, e)
	}
	deadline := time.Now().Add(10 * time.Second)
	var o api.ShopperOrder
	for {
		if o = s.Order(act, "watcher"); o.Status == api.ShopperOrderStatusCreated {
			break
		}
		if o.Status != api.ShopperOrderStatusPending || time.Now().After(deadline) {
			t.Fatalf("polling the order: %s", saletest.JSON(o))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o.Order.GID != fmt.Sprintf("flash-sale-%d-watcher", act) || o.Order.UserID != "watcher" {
		t.Fatalf("order = %s", saletest.JSON(o.Order))
	}
	if code, e := s.Buy(act, "watcher"); code != http.StatusConflict || e != api.ErrorCodeAlreadyPurchased {
		t.Fatalf("second buy: %d %s, want 409 already_purchased", code, e)
	}
	s.SettleStores(act, 10*time.Second)
}

// TestDTMUnreachable: with the dtm server down a buy answers 503 and takes
// no stock; once it is back, buying works.
func TestDTMUnreachable(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	s.dtm.Kill()
	if code, e := s.Buy(act, "early"); code != http.StatusServiceUnavailable || e != api.ErrorCodeUnavailable {
		t.Fatalf("buy with dtm down: %d %s, want 503 unavailable", code, e)
	}
	if n := redisStock(t, act); n != 10 {
		t.Fatalf("Redis stock = %d after a failed buy, want 10", n)
	}
	startProc(t, s.dtm)
	if code, e := s.Buy(act, "early"); code != http.StatusAccepted {
		t.Fatalf("buy with dtm back: %d %s", code, e)
	}
	r := s.SettleStores(act, 15*time.Second)
	if r.LiveOrders != 1 {
		t.Fatalf("after settlement: %s", r)
	}
}
