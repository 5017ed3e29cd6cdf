package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The alerts of scripts/monitoring/prometheus/rules.yml a dead order
// service fires: purchases accepted with no order created, and its
// target down.
const (
	alertNotSettling = "OrdersNotSettling"
	alertOrdersDown  = "OrdersDown"
)

// TestSettlementAlert has a real Prometheus scrape the services mode with
// the repository's alerting rules, kills the order service while shoppers
// keep buying, and reads Prometheus's /api/v1/alerts: OrdersNotSettling
// (and OrdersDown) go pending, then fire after their `for:` of one
// minute; the order service restarted, both resolve, and the sale
// settles with one order per accepted purchase.
func TestSettlementAlert(t *testing.T) {
	rules, err := filepath.Abs(filepath.Join("..", "scripts", "monitoring", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	act := s.NewActivity(2000)
	base := startPrometheus(t, s.http, "the alerting rules run on a real Prometheus", scrapeTargets(s), rules)

	s.orders.Kill()
	w := &alertWatch{t: t, hc: s.http, base: base, since: time.Now(), names: []string{alertNotSettling, alertOrdersDown}}
	w.logf("order service killed")
	b := startBuying(s, act, 250*time.Millisecond)
	defer b.stop()

	firing := w.until("firing", 100*time.Second, func(st map[string]string) bool {
		return st[alertNotSettling] == "firing" && st[alertOrdersDown] == "firing"
	})
	// The rule's `for: 1m` holds it pending a minute; its 2 m window does
	// not delay it, since no order at all is created after the kill.
	if firing < time.Minute || firing > 90*time.Second {
		t.Errorf("%s fired %s after the kill, want between its 1m `for:` and 90s", alertNotSettling, firing.Round(time.Second))
	}

	startProc(t, s.orders)
	w.logf("order service restarted (ready)")
	w.until("resolved", 60*time.Second, func(st map[string]string) bool {
		return st[alertNotSettling] == "" && st[alertOrdersDown] == ""
	})

	accepted, refused := b.stop()
	if accepted == 0 || len(refused) > 0 {
		t.Fatalf("buys while the order service was down and back: %d accepted, refused: %v", accepted, refused)
	}
	r := s.SettleStores(act, time.Minute)
	if r.LiveOrders != accepted {
		t.Fatalf("%d buys accepted, after settlement: %s", accepted, r)
	}
	w.logf("settled: %d purchases, %d orders", accepted, r.LiveOrders)
}

// alertWatch polls the alerts of a Prometheus and logs every change of
// state of the named ones, as the time since a start.
type alertWatch struct {
	t     *testing.T
	hc    *http.Client
	base  string
	since time.Time
	names []string
	last  map[string]string
}

func (w *alertWatch) logf(format string, args ...any) {
	w.t.Helper()
	w.t.Logf("timeline %+6.1fs: %s", time.Since(w.since).Seconds(), fmt.Sprintf(format, args...))
}

// until polls until done holds for the alerts' states (name -> "pending"
// or "firing", absent when inactive) and returns the time since the
// start; it fails the test after timeout.
func (w *alertWatch) until(what string, timeout time.Duration, done func(map[string]string) bool) time.Duration {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := promAlerts(w.hc, w.base)
		if err != nil {
			w.t.Fatalf("prometheus alerts: %v", err)
		}
		for _, n := range w.names {
			if st[n] != w.last[n] {
				w.logf("%s %s", n, stateName(st[n]))
			}
		}
		w.last = st
		if done(st) {
			return time.Since(w.since)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("alerts not %s after %s: %v", what, timeout, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func stateName(s string) string {
	if s == "" {
		return "inactive"
	}
	return s
}

// buying is a shopper buying one unit of an activity every interval, each
// time as a new user, until stopped.
type buying struct {
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
	accepted int
	refused  []string
}

func startBuying(s *stack, act int64, interval time.Duration) *buying {
	b := &buying{done: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-b.done:
				return
			case <-tick.C:
			}
			code, e := s.Buy(act, fmt.Sprintf("alert%d", i))
			if code == http.StatusAccepted {
				b.accepted++
			} else {
				b.refused = append(b.refused, fmt.Sprintf("%d %s", code, e))
			}
		}
	}()
	return b
}

// stop stops the buying and returns how many buys were accepted and the
// answers of those that were not.
func (b *buying) stop() (accepted int, refused []string) {
	b.once.Do(func() { close(b.done) })
	b.wg.Wait()
	return b.accepted, b.refused
}
