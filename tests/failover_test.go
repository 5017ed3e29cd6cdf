package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/redis/go-redis/v9"
)

// answer is one buy's final answer, and when its last try was sent and
// answered.
type answer struct {
	code      int
	err       api.ErrorCode
	message   string
	sent, got time.Time
}

// TestClusterFailover: a sale on a Redis Cluster of three masters with a
// replica each, bought through two flashsale instances, loses the master
// holding its slot to SIGKILL mid-sale. The replica takes over. The
// counter it holds was set under the dead master's process, so it is stale
// on the first call (the function library keeps the run id of the process
// it runs in: the new master's), buys answer 503 and take nothing, every
// instance re-derives the counter from the orders and the dtm server, and
// the sale goes on. Shoppers retry a 503. At the end exactly the units were
// sold, I1-I5 hold, and no shopper was told the sale sold out before the
// last unit was taken.
func TestClusterFailover(t *testing.T) {
	nodes := startCluster(t, 3, 1)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr)
	}
	s := newStack(t)
	cluster := "REDIS_ADDR=" + strings.Join(addrs, ",")
	insts := []*instance{s.addFlashsale("flashsale-a", cluster), s.addFlashsale("flashsale-b", cluster)}
	rdb := redisconn.Open(redisconn.Options{Addrs: strings.Join(addrs, ",")})
	defer rdb.Close()
	ctx := context.Background()

	const units, shoppers = 150, 300
	act := insts[0].NewActivity(units)
	master, err := rdb.(*redis.ClusterClient).MasterForKey(ctx, contract.StockKey(act, 0))
	if err != nil {
		t.Fatal(err)
	}
	var victim clusterNode
	for _, n := range nodes {
		if n.addr == master.Options().Addr {
			victim = n
		}
	}
	if victim.proc == nil {
		t.Fatalf("the slot's master %s is none of the cluster's nodes", master.Options().Addr)
	}

	var mu sync.Mutex // guards answers, accepted, killedAt
	answers := make([]answer, shoppers)
	accepted := 0
	var killedAt time.Time
	deadline := time.Now().Add(60 * time.Second) // the shoppers give up trying again then
	buy := func(i int) {
		user := fmt.Sprintf("fo%d", i)
		in := insts[i%2]
		for {
			sent := time.Now()
			sec := in.Secret(act, user)
			code, e := saletest.ErrorOf(in.Shopper.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: sec}, s.As(user)))
			a := answer{code: code, err: e.Error, message: e.Message, sent: sent, got: time.Now()}
			if (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests || code == 0) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond) // a shopper trying again
				continue
			}
			mu.Lock()
			answers[i] = a
			if code == http.StatusAccepted {
				accepted++
				if accepted == units/3 && killedAt.IsZero() {
					victim.proc.Kill()
					killedAt = time.Now()
				}
			}
			mu.Unlock()
			return
		}
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8) // shoppers arrive over a few seconds
	for i := 0; i < shoppers; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			buy(i)
		}(i)
	}
	wg.Wait()
	if killedAt.IsZero() {
		t.Fatalf("the sale ended before %d purchases: %d accepted", units/3, accepted)
	}

	counts := map[string]int{}
	var lastWinSent, firstWinAfterKill time.Time
	for _, a := range answers {
		counts[fmt.Sprintf("%d %s", a.code, a.err)]++
		if a.code == http.StatusAccepted {
			if a.sent.After(lastWinSent) {
				lastWinSent = a.sent
			}
			if a.sent.After(killedAt) && (firstWinAfterKill.IsZero() || a.got.Before(firstWinAfterKill)) {
				firstWinAfterKill = a.got
			}
		}
	}
	if accepted != units {
		for _, n := range nodes {
			t.Logf("redis node %s:\n%s", n.addr, n.proc.Tail(1500))
		}
		for _, in := range insts {
			seen := map[string]bool{}
			for _, l := range in.proc.Lines("") {
				if i := strings.Index(l, `"msg":`); i >= 0 && !seen[l[i:min(len(l), i+160)]] && len(seen) < 30 {
					seen[l[i:min(len(l), i+160)]] = true
					t.Logf("%s: %s", in.proc.Name, l)
				}
			}
		}
		t.Fatalf("%d purchases accepted for %d units (answers %v)", accepted, units, counts)
	}
	for _, a := range answers {
		// An attempt the failover cut short (its message aborted) is
		// that shopper's one attempt: its retry is told attempt_used,
		// never sold_out while the sale is not sold out.
		if a.code == http.StatusConflict && a.err == api.ErrorCodeSoldOut && a.got.Before(lastWinSent) {
			t.Errorf("told sold out at %s while a unit was still to be taken at %s", a.got.Format(time.StampMilli), lastWinSent.Format(time.StampMilli))
		}
	}
	src := reconcile.Sources{Redis: rdb, DB: env.db, DTM: s.dtmURL(), HTTP: s.http}
	var r reconcile.Report
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if r, err = reconcile.Check(ctx, src, act); err != nil {
			t.Fatalf("reconcile on the cluster: %v", err)
		}
		if r.Unsettled() == 0 && r.OK() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after the failover:\n%s", r)
		}
	}
	if r.LiveOrders != units || r.RedisStock != 0 {
		t.Fatalf("after the failover: %s", r)
	}
	rederived := 0
	for _, in := range insts {
		rederived += len(in.proc.Lines("re-derived"))
	}
	if rederived == 0 {
		t.Error("no instance re-derived the stock after the failover")
	}
	t.Logf("master %s killed after %d purchases; first purchase sent after it answered %s later; answers %v; %d re-derivation log lines",
		victim.addr, units/3, firstWinAfterKill.Sub(killedAt).Round(10*time.Millisecond), counts, rederived)
}
