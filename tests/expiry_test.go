package tests

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/saletest"
)

// payTimeout is the shortest time to pay the admin API accepts, in seconds.
const payTimeout = 10

// cancelBound is how long after its time to pay an order may stay
// uncancelled: the canceller's 1 s interval and slack.
const cancelBound = 5 * time.Second

// TestUnpaidTimeout: an order left unpaid is cancelled once its time to pay
// ends; its unit goes back to Redis and DB stock once each, the buyer can
// neither pay it nor buy again (one attempt per shopper: the gid rule), and
// another shopper buys the returned unit, even though the sale had been
// sold out.
func TestUnpaidTimeout(t *testing.T) {
	s := newStack(t)
	s.PayTimeout = payTimeout
	act := s.NewActivity(2)
	lateID, expires := s.buyOrder(act, "late")
	promptID, _ := s.buyOrder(act, "prompt")
	if r := s.Pay(promptID, "prompt"); r.StatusCode() != http.StatusOK {
		t.Fatalf("prompt pays: %s", saletest.Show(r))
	}
	if code, e := s.Buy(act, "waiting"); code != http.StatusConflict || e != api.ErrorCodeSoldOut {
		t.Fatalf("a buy while sold out: %d %s", code, e)
	}
	if n := redisStock(t, act); n != 0 {
		t.Fatalf("Redis stock %d before the timeout, want 0", n)
	}

	o := s.WaitOrder(act, "late", api.ShopperOrderStatusCancelled, time.Until(expires)+cancelBound)
	t.Logf("cancelled %s after its time to pay ended", time.Since(expires).Round(10*time.Millisecond))
	if o.CancelledAt.IsZero() {
		t.Fatalf("cancelled order without cancelled_at: %s", saletest.JSON(o))
	}
	gid := contract.CancelGID(act, "late")
	for st := s.dtmStatus(gid); st != dtmcli.StatusSucceed; st = s.dtmStatus(gid) {
		if time.Since(expires) > 2*cancelBound {
			t.Fatalf("cancellation message %s is %q", gid, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once each, and no more later.
	for i := 0; i < 2; i++ {
		if r, d := redisStock(t, act), dbStock(t, act); r != 1 || d != 1 {
			t.Fatalf("after the cancellation: Redis stock %d, DB stock %d; want 1 and 1", r, d)
		}
		time.Sleep(time.Second)
	}
	if r := s.Pay(lateID, "late"); r.StatusCode() != http.StatusConflict || r.JSON409.Error != api.ErrorCodeNotPayable {
		t.Fatalf("paying a cancelled order: %s, want 409 not_payable", saletest.Show(r))
	}
	if charged, _, _ := s.ledger(lateID); charged != 0 {
		t.Fatal("the cancelled order was charged")
	}
	if code, e := s.Buy(act, "late"); code != http.StatusConflict || e != api.ErrorCodeAlreadyPurchased {
		t.Fatalf("the cancelled buyer buys again: %d %s, want 409 already_purchased", code, e)
	}
	if o := s.Order(act, "late"); o.Status != api.ShopperOrderStatusCancelled {
		t.Fatalf("the cancelled buyer's order is now %q", o.Status)
	}
	// The sold-out flags learn of the returned unit within their poll.
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, e := s.Buy(act, "newcomer")
		if code == http.StatusAccepted {
			break
		}
		if e != api.ErrorCodeSoldOut || time.Now().After(deadline) {
			t.Fatalf("another shopper buys the returned unit: %d %s", code, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.WaitOrder(act, "newcomer", api.ShopperOrderStatusCreated, 10*time.Second)
	r := s.SettleStores(act, 15*time.Second)
	if r.LiveOrders != 2 || r.RedisStock != 0 || r.DBStock != 0 || r.Cancels[dtmcli.StatusSucceed] != 1 {
		t.Fatalf("after settlement: %s", r)
	}
}

// TestPayRacesTimeout: 30 orders are paid around the end of their time to
// pay, while the canceller cancels them, with a provider that takes 1.5 s
// to charge (a third of them paid twice at once). Each order ends exactly
// one of paid or cancelled, as its payment was answered; a paid order was
// charged once, a cancelled one holds no charge; the promises hold.
func TestPayRacesTimeout(t *testing.T) {
	s := newStack(t)
	s.restartOrders(nil, "PAYMENT_SIMULATE=ok:1500ms")
	s.PayTimeout = payTimeout
	const n = 30
	act := s.NewActivity(n)
	type buyer struct {
		user    string
		id      int64
		expires time.Time
		offset  time.Duration
		answers []int
	}
	buyers := make([]*buyer, n)
	var wg sync.WaitGroup
	for i := range buyers {
		b := &buyer{user: fmt.Sprintf("racer%d", i)}
		buyers[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.id, b.expires = s.buyOrder(act, b.user)
		}()
	}
	wg.Wait()
	// Payments start from 2.5 s before the end of the time to pay to 0.5 s
	// after it: the earliest are recorded before it ends, those within
	// 1.5 s of it race the canceller, the last find it ended.
	var mu sync.Mutex
	for i, b := range buyers {
		b.offset = -2500*time.Millisecond + time.Duration(i)*3000*time.Millisecond/n
		payers := 1
		if i%3 == 0 {
			payers = 2
		}
		for k := 0; k < payers; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Until(b.expires.Add(b.offset)))
				r := s.Pay(b.id, b.user)
				code := r.StatusCode()
				if code != http.StatusOK && code != http.StatusConflict {
					t.Errorf("%s pays: %s", b.user, saletest.Show(r))
				}
				mu.Lock()
				b.answers = append(b.answers, code)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	paid, cancelled, refunded := 0, 0, 0
	for _, b := range buyers {
		st := "created"
		deadline := time.Now().Add(cancelBound)
		for st == "created" && time.Now().Before(deadline) {
			if st, _ = dbOrder(t, act, b.user); st == "created" {
				time.Sleep(50 * time.Millisecond)
			}
		}
		want := map[string]int{"paid": http.StatusOK, "cancelled": http.StatusConflict}[st]
		for _, code := range b.answers {
			if code != want {
				t.Errorf("%s (offset %s): order %s, but a payment was answered %d", b.user, b.offset, st, code)
			}
		}
		charged, refunds, _ := s.ledger(b.id)
		switch st {
		case "paid":
			paid++
			if charged != 1 || refunds != 0 {
				t.Errorf("%s: paid order charged %d times, refunded %d; want 1, 0", b.user, charged, refunds)
			}
		case "cancelled":
			cancelled++
			refunded += refunds
			if charged != refunds {
				t.Errorf("%s: cancelled order charged %d times, refunded %d", b.user, charged, refunds)
			}
		default:
			t.Errorf("%s: order is %q, want paid or cancelled", b.user, st)
		}
	}
	t.Logf("%d paid, %d cancelled, of which %d charged and refunded", paid, cancelled, refunded)
	if paid == 0 || cancelled == 0 || refunded == 0 {
		t.Errorf("the race was not run: %d paid, %d cancelled, %d refunded; want some of each", paid, cancelled, refunded)
	}
	r := s.SettleStores(act, 15*time.Second)
	if r.LiveOrders != paid || r.RedisStock != int64(n-paid) || r.DBStock != n-paid || r.Cancels[dtmcli.StatusSucceed] != cancelled {
		t.Fatalf("after settlement: %s", r)
	}
}

// crashCancel parks the order service at fault point while it cancels
// victim's order in act, SIGKILLs it there, and restarts it with args.
func crashCancel(t *testing.T, s *stack, act int64, victim, point string, args ...string) {
	t.Helper()
	gid := contract.CancelGID(act, victim)
	s.restartOrders(nil, "FLASHSALE_FAULTPOINTS="+point+":"+gid)
	waitLine(t, s.orders, "FAULTPOINT "+point+" "+gid, payTimeout*time.Second+cancelBound)
	if st := s.dtmStatus(gid); st != dtmcli.StatusPrepared {
		t.Fatalf("cancellation message %s is %q at the fault point, want prepared", gid, st)
	}
	s.orders.Kill()
	s.restartOrders(args)
}

// TestCancelKilledAfterLocalStep: the order service dies after the
// cancellation's local step committed (order cancelled, DB stock +1) and
// before Submit. The dtm server's back-check finds the barrier, commits the
// message, and the unit goes back to Redis, once.
func TestCancelKilledAfterLocalStep(t *testing.T) {
	s := newStack(t)
	s.PayTimeout = payTimeout
	act := s.NewActivity(5)
	keeper, _ := s.buyOrder(act, "keeper")
	if r := s.Pay(keeper, "keeper"); r.StatusCode() != http.StatusOK {
		t.Fatalf("keeper pays: %s", saletest.Show(r))
	}
	s.buyOrder(act, "victim")
	crashCancel(t, s, act, "victim", "cancel-after-local")
	killed := time.Now()
	if st, _ := dbOrder(t, act, "victim"); st != "cancelled" {
		t.Fatalf("victim's order is %s after the local step, want cancelled", st)
	}
	if r, d := redisStock(t, act), dbStock(t, act); r != 3 || d != 4 {
		t.Fatalf("mid-cancel: Redis stock %d, DB stock %d; want 3 and 4", r, d)
	}
	gid := contract.CancelGID(act, "victim")
	for s.dtmStatus(gid) != dtmcli.StatusSucceed || redisStock(t, act) != 4 {
		if time.Since(killed) > backCheckBound {
			t.Fatalf("%s after the kill: message %q, Redis stock %d", backCheckBound, s.dtmStatus(gid), redisStock(t, act))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("settled %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	r := s.SettleStores(act, 15*time.Second)
	time.Sleep(time.Second) // a late redelivery would show now
	if r.LiveOrders != 1 || r.RedisStock != 4 || r.DBStock != 4 || redisStock(t, act) != 4 || r.Cancels[dtmcli.StatusSucceed] != 1 {
		t.Fatalf("after settlement: %s", r)
	}
}

// TestCancelKilledBeforeLocalStep: the order service dies after Prepare,
// before the local step, and comes back with its canceller off, so only
// the dtm server's back-check can settle the cancellation: it does the
// local step itself (rather than failing a gid no later attempt could
// prepare again), commits, and the unit goes back to both stocks, once.
func TestCancelKilledBeforeLocalStep(t *testing.T) {
	s := newStack(t)
	s.PayTimeout = payTimeout
	act := s.NewActivity(5)
	s.buyOrder(act, "victim")
	crashCancel(t, s, act, "victim", "cancel-before-local", "-cancel-interval", "0")
	killed := time.Now()
	if st, _ := dbOrder(t, act, "victim"); st != "created" {
		t.Fatalf("victim's order is %s before the local step, want created", st)
	}
	gid := contract.CancelGID(act, "victim")
	for s.dtmStatus(gid) != dtmcli.StatusSucceed || redisStock(t, act) != 5 {
		if time.Since(killed) > backCheckBound {
			t.Fatalf("%s after the kill: message %q, Redis stock %d", backCheckBound, s.dtmStatus(gid), redisStock(t, act))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("settled %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	r := s.SettleStores(act, 15*time.Second)
	if st, _ := dbOrder(t, act, "victim"); st != "cancelled" || r.LiveOrders != 0 || r.RedisStock != 5 || r.DBStock != 5 {
		t.Fatalf("after settlement: order %s; %s", st, r)
	}
}

// TestFlashsaleDownWhileCancelling: flashsale is down when an unpaid order
// is cancelled, so the cancellation's branch (the unit's return to Redis,
// on flashsale's internal listener) fails and dtm backs it off 18 s. The
// restarted flashsale hurries that retry (dtmclient.HurryRetries): the unit
// is back in Redis within 8 s of the restart, once.
func TestFlashsaleDownWhileCancelling(t *testing.T) {
	s := newStack(t)
	s.PayTimeout = payTimeout
	act := s.NewActivity(1)
	_, expires := s.buyOrder(act, "late")
	s.flashsale.Kill()
	gid := contract.CancelGID(act, "late")
	for {
		if st, _ := dbOrder(t, act, "late"); st == "cancelled" && s.dtmStatus(gid) == dtmcli.StatusSubmitted {
			break
		}
		if time.Since(expires) > 2*cancelBound {
			t.Fatalf("order not cancelled, or message %s %q, %s after its time to pay", gid, s.dtmStatus(gid), time.Since(expires))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the branch call fails at once: flashsale is not listening
	if n := redisStock(t, act); n != 0 {
		t.Fatalf("Redis stock %d with flashsale down, want 0", n)
	}
	s.restartFlashsale()
	restarted := time.Now()
	for st := s.dtmStatus(gid); st != dtmcli.StatusSucceed; st = s.dtmStatus(gid) {
		if time.Since(restarted) > 8*time.Second {
			t.Fatalf("cancellation message %s still %q 8s after flashsale restarted", gid, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("unit returned %s after the restart", time.Since(restarted).Round(10*time.Millisecond))
	if len(s.flashsale.Lines("hurried dtm's backed-off retries")) == 0 {
		t.Error("the restarted flashsale did not hurry dtm's retries")
	}
	r := s.SettleStores(act, 5*time.Second)
	if r.LiveOrders != 0 || r.RedisStock != 1 || r.DBStock != 1 || r.Cancels[dtmcli.StatusSucceed] != 1 {
		t.Fatalf("after settlement: %s", r)
	}
}
