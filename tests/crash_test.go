package tests

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// backCheckBound is how long a purchase whose flashsale died may stay
// unsettled: the message's TimeoutToFail, dtm's cron tick, and slack for
// a slow back-check: about 15 s (README, "dtm settings").
const backCheckBound = (dtmclient.MsgRetryInterval + 6) * time.Second

// crashAt parks flashsale at fault point, SIGKILLs it there, restarts it and
// returns the gid of the interrupted purchase.
func crashAt(t *testing.T, s *stack, act int64, user, point string) string {
	t.Helper()
	go s.Buy(act, user) // never answered: the process dies under it
	line := waitLine(t, s.flashsale, "FAULTPOINT "+point, 10*time.Second)
	gid := strings.Fields(line)[2]
	s.flashsale.Kill()
	s.restartFlashsale()
	return gid
}

// TestKilledAfterLua: flashsale dies after the Lua step took the unit and
// before Submit. The dtm server back-checks, finds the barrier taken,
// commits the message, and the order is created within the bound.
func TestKilledAfterLua(t *testing.T) {
	s := newStack(t, "FLASHSALE_FAULTPOINTS=after-lua")
	act := s.NewActivity(10)
	start := time.Now()
	gid := crashAt(t, s, act, "crash1", "after-lua")
	if gid != fmt.Sprintf("flash-sale-%d-crash1", act) {
		t.Fatalf("fault point reported gid %q", gid)
	}
	if n := redisStock(t, act); n != 9 {
		t.Fatalf("Redis stock after the Lua step = %d, want 9", n)
	}
	for orderCount(t, act) == 0 {
		if time.Since(start) > backCheckBound {
			t.Fatalf("no order %s after the crash; dtm status %q", backCheckBound, s.dtmStatus(gid))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("order created %s after the purchase began", time.Since(start).Round(100*time.Millisecond))
	r := s.SettleStores(act, 10*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || s.dtmStatus(gid) != dtmcli.StatusSucceed {
		t.Fatalf("after settlement: %s", r)
	}
	if code, e := s.Buy(act, "crash1"); code != http.StatusConflict || e != api.ErrorCodeAlreadyPurchased {
		t.Fatalf("buying again: %d %s, want 409 already_purchased", code, e)
	}
}

// TestKilledBeforeLua: flashsale dies after Prepare and before the Lua
// step. The back-check closes the barrier, the message fails, no stock is
// taken, and a late local step could no longer commit.
func TestKilledBeforeLua(t *testing.T) {
	s := newStack(t, "FLASHSALE_FAULTPOINTS=before-lua")
	act := s.NewActivity(10)
	start := time.Now()
	gid := crashAt(t, s, act, "crash2", "before-lua")
	for s.dtmStatus(gid) != dtmcli.StatusFailed {
		if time.Since(start) > backCheckBound {
			t.Fatalf("message %s is %q %s after the crash, want failed", gid, s.dtmStatus(gid), backCheckBound)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("message failed %s after the purchase began", time.Since(start).Round(100*time.Millisecond))
	r := s.SettleStores(act, 10*time.Second)
	if r.LiveOrders != 0 || r.RedisStock != 10 || r.DBStock != 10 {
		t.Fatalf("after settlement: %s", r)
	}
	// The user's one attempt has ended without a unit, cut short: the sale
	// is not sold out, and the answer says which.
	if code, e := s.Buy(act, "crash2"); code != http.StatusConflict || e != api.ErrorCodeAttemptUsed {
		t.Fatalf("buying again: %d %s, want 409 %s", code, e, api.ErrorCodeAttemptUsed)
	}
	if n := redisStock(t, act); n != 10 {
		t.Fatalf("Redis stock = %d, want 10", n)
	}
}

// TestOrdersKilledMidSale: the order service is SIGKILLed while a sale runs
// and restarted; dtm retries the branches, hurried by the restarted
// service, and every succeeded message ends with exactly one order within
// 12 s of the restart (dtm alone retries after 18 s).
func TestOrdersKilledMidSale(t *testing.T) {
	s := newStack(t)
	// flashsale hurries dtm's retries once when it turns ready, up to a
	// second after it starts (dtmclient.HurryWhenReady polls every second):
	// let that pass first, so that the hurry the test looks for is the
	// restarted order service's, not flashsale's landing after the kill.
	time.Sleep(1500 * time.Millisecond)
	act := s.NewActivity(100)
	var got outcomes
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	killed := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i >= 60 {
				<-killed // the second half buys while orders is down
			}
			got.add(s.Buy(act, fmt.Sprintf("okill%d", i)))
			mu.Lock()
			done++
			mu.Unlock()
		}(i)
	}
	for {
		mu.Lock()
		d := done
		mu.Unlock()
		if d >= 30 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.orders.Kill()
	close(killed)
	time.Sleep(time.Second)
	startProc(t, s.orders)
	restarted := time.Now()
	wg.Wait()
	if got.m["202 "] != 100 || got.m["409 sold_out"] != 100 {
		t.Fatalf("answers = %v, want 100 accepted and 100 sold out", got.m)
	}
	// dtm retries a failed branch 18 s later; the restarted order service
	// hurries those retries (dtmclient.HurryRetries), so every order is there
	// well before that.
	r := s.SettleStores(act, time.Until(restarted.Add(12*time.Second)))
	if r.LiveOrders != 100 || r.Messages[dtmcli.StatusSucceed] != 100 {
		t.Fatalf("after settlement: %s", r)
	}
	t.Logf("settled %s after the restart", time.Since(restarted).Round(100*time.Millisecond))
	if n := len(s.orders.Lines("hurried dtm's backed-off retries")); n == 0 {
		t.Error("the restarted order service did not hurry dtm's retries")
	}
}
