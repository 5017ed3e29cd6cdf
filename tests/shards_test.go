package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/redis/go-redis/v9"
)

// TestShardedSale is one hot sale across many processes: a Redis Cluster
// of 3 masters with a replica each, 2 dtm groups (each its own store
// prefix, on two different masters), 2 order-service instances and 2
// flashsale instances, one activity of 6 shards. 20,000 buys from 5,000
// shoppers (four each, in random order, a 503 retried) for 3,000 units
// end as exactly 3,000 orders, I1-I5 hold, and no shopper was told
// sold_out while a shard held a unit, judged on a timeline the test
// records. "master killed" SIGKILLs the third master, which holds stock
// shards and no dtm store, a third of the way in.
func TestShardedSale(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "steady"
		if kill {
			name = "master killed"
		}
		t.Run(name, func(t *testing.T) { shardedSale(t, kill) })
	}
}

// layout is the processes of a sharded sale.
type layout struct {
	s        *stack
	nodes    []clusterNode
	rdb      *redis.ClusterClient
	dtm      []string // the groups' API bases
	dtmStore []string // the masters holding each group's store
	insts    []*instance
}

func startLayout(t *testing.T) *layout {
	needServers(t)
	nodes := startCluster(t, 3, 1)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr)
	}
	cluster := strings.Join(addrs, ",")
	l := &layout{nodes: nodes, rdb: redisconn.Open(redisconn.Options{Addrs: cluster}).(*redis.ClusterClient),
		s: &stack{t: t, dir: t.TempDir(), http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}}
	t.Cleanup(func() { l.rdb.Close() })
	ctx := context.Background()
	// Two store prefixes whose slots two different masters hold.
	var prefixes []string
	for i := 0; len(prefixes) < 2 && i < 1000; i++ {
		p := fmt.Sprintf("{dtm%d-%d}", time.Now().UnixNano()%1e6, i)
		m, err := l.rdb.MasterForKey(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.dtmStore) == 0 || l.dtmStore[0] != m.Options().Addr {
			prefixes = append(prefixes, p)
			l.dtmStore = append(l.dtmStore, m.Options().Addr)
		}
	}
	for g, p := range prefixes {
		port := testenv.FreePort(t)
		d := l.s.newProc("dtm", []string{"-http-port", strconv.Itoa(port), "-grpc-port", strconv.Itoa(testenv.FreePort(t)),
			"-redis", cluster, "-redis-prefix", p, "-dir", t.TempDir(), "-log-level", "warn"}, nil)
		u := fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", port)
		d.Name, d.Log, d.Ready = fmt.Sprintf("dtm-g%d", g), filepath.Join(l.s.dir, fmt.Sprintf("dtm-g%d.log", g)), proc.HTTP(u+"/version")
		startProc(t, d)
		t.Cleanup(func() {
			d.Kill()
			if t.Failed() {
				t.Logf("---- %s log ----\n%s", d.Name, d.Tail(2000))
			}
		})
		l.dtm = append(l.dtm, u)
	}
	dtmList := strings.Join(l.dtm, ",")
	// Two order services and two flashsale instances, each pair calling
	// each other.
	for i := range 2 {
		op, sp, ap, ip := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		o := l.s.newProc("orders", nil, []string{"ORDERS_ADDR=127.0.0.1:" + strconv.Itoa(op), "MYSQL_DSN=" + env.mysqlDSN,
			"DTM_SERVER=" + dtmList, "ORDERS_URL=http://127.0.0.1:" + strconv.Itoa(op), "FLASHSALE_INTERNAL_URL=http://127.0.0.1:" + strconv.Itoa(ip),
			contract.KeyEnv + "=" + internalKey})
		o.Name, o.Log = fmt.Sprintf("orders-%d", i), filepath.Join(l.s.dir, fmt.Sprintf("orders-%d.log", i))
		o.Ready = proc.HTTP(fmt.Sprintf("http://127.0.0.1:%d/readyz", op))
		f := l.s.newProc("flashsale", nil, []string{
			"FLASHSALE_ADDR=127.0.0.1:" + strconv.Itoa(sp), "FLASHSALE_ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(ap), "FLASHSALE_INTERNAL_ADDR=127.0.0.1:" + strconv.Itoa(ip),
			"REDIS_ADDR=" + cluster, "MYSQL_DSN=" + env.mysqlDSN, "DTM_SERVER=" + dtmList, "ORDERS_URL=http://127.0.0.1:" + strconv.Itoa(op),
			"FLASHSALE_JWT_SECRET=" + jwtSecret, "FLASHSALE_ADMIN_TOKEN=" + adminToken, contract.KeyEnv + "=" + internalKey,
			"FLASHSALE_RATE_PER_USER=0", "FLASHSALE_RATE_PER_IP=0", "FLASHSALE_ADMISSION_FACTOR=0",
		})
		f.Name, f.Log = fmt.Sprintf("flashsale-%d", i), filepath.Join(l.s.dir, fmt.Sprintf("flashsale-%d.log", i))
		f.Ready = proc.HTTP(fmt.Sprintf("http://127.0.0.1:%d/readyz", sp))
		t.Cleanup(func() {
			f.Kill()
			o.Kill()
			if t.Failed() {
				t.Logf("---- %s log ----\n%s\n---- %s log ----\n%s", f.Name, f.Tail(2000), o.Name, o.Tail(2000))
			}
		})
		startProc(t, o)
		startProc(t, f)
		l.insts = append(l.insts, &instance{proc: f, shopper: "http://127.0.0.1:" + strconv.Itoa(sp), admin: "http://127.0.0.1:" + strconv.Itoa(ap)})
	}
	for _, in := range l.insts {
		in.Harness = saletest.New(t, saletest.Config{Shopper: in.shopper, Admin: in.admin, AdminToken: adminToken, JWTSecret: jwtSecret, HTTP: l.s.http})
	}
	return l
}

// sample is a reading of every shard: when it started, and the units
// they held (-1 when one was stale or missing).
type sample struct {
	at    time.Time
	units int64
}

func shardedSale(t *testing.T, kill bool) {
	const units, shards, shoppers, tries = 3000, 6, 5000, 4
	l := startLayout(t)
	s, ctx := l.s, context.Background()
	act := l.insts[0].Open(api.SaleNow("hot sale", units, shards)).ID
	// The victim: the master holding neither dtm store, with shards.
	var victim clusterNode
	shardsOn := map[string]int{}
	for k := range shards {
		m, err := l.rdb.MasterForKey(ctx, contract.StockKey(act, k))
		if err != nil {
			t.Fatal(err)
		}
		shardsOn[m.Options().Addr]++
	}
	for _, n := range l.nodes {
		if shardsOn[n.addr] > 0 && n.addr != l.dtmStore[0] && n.addr != l.dtmStore[1] {
			victim = n
		}
	}
	if kill && victim.proc == nil {
		t.Skipf("no master holds shards without a dtm store (shards per master %v): the layout is random", shardsOn)
	}
	t.Logf("activity %d: shards per master %v, dtm stores on %v", act, shardsOn, l.dtmStore)

	// The timeline's sampler: every shard, every 5 ms, as a reader that
	// knows stale counters.
	reader := rediscache.NewStock(l.rdb, time.Hour, func(context.Context, int64) (int, error) { return shards, nil })
	var samples []sample
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			at := time.Now()
			n, ok, err := reader.Remaining(ctx, act)
			if err != nil || !ok {
				n = -1
			}
			samples = append(samples, sample{at: at, units: n})
		}
	}()

	secrets := make([]string, shoppers)
	var secMu sync.Mutex
	secret := func(i int, in *instance) string {
		secMu.Lock()
		defer secMu.Unlock()
		if secrets[i] == "" {
			secrets[i] = in.Secret(act, fmt.Sprintf("sh%d", i))
		}
		return secrets[i]
	}
	var order []int
	for i := range shoppers {
		for range tries {
			order = append(order, i)
		}
	}
	rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	var mu sync.Mutex // guards answers, accepted, killedAt
	var answers []answer
	accepted := 0
	var killedAt time.Time
	deadline := time.Now().Add(90 * time.Second)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				in := l.insts[(i+w)%2]
				for {
					sent := time.Now()
					buy := api.BuyRequest{Secret: secret(i, in)}
					code, e := saletest.ErrorOf(in.Shopper.BuyWithResponse(ctx, act, nil, buy, in.As(fmt.Sprintf("sh%d", i))))
					a := answer{code: code, err: e.Error, message: e.Message, sent: sent, got: time.Now()}
					if (code == http.StatusServiceUnavailable || code == 0) && time.Now().Before(deadline) {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					mu.Lock()
					answers = append(answers, a)
					if code == http.StatusAccepted {
						accepted++
						if kill && accepted == units/3 && killedAt.IsZero() {
							victim.proc.Kill()
							killedAt = time.Now()
						}
					}
					mu.Unlock()
					break
				}
			}
		}()
	}
	for _, i := range order {
		work <- i
	}
	close(work)
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-sampled

	counts := map[string]int{}
	var lastWinSent time.Time
	for _, a := range answers {
		counts[fmt.Sprintf("%d %s", a.code, a.err)]++
		if a.code == http.StatusAccepted && a.sent.After(lastWinSent) {
			lastWinSent = a.sent
		}
	}
	t.Logf("answers: %v", counts)
	if accepted != units {
		t.Fatalf("%d purchases accepted for %d units", accepted, units)
	}
	// The timeline: a sold_out answered at t means every shard was empty
	// then. Units only leave the shards here (no cancellation), so no buy
	// sent after t may win, and no reading begun after t may find a unit.
	bad := 0
	for _, a := range answers {
		if a.code != http.StatusConflict || a.err != api.ErrorCodeSoldOut {
			continue
		}
		if a.got.Before(lastWinSent) {
			bad++
			if bad <= 5 {
				t.Errorf("told sold_out at %s; a buy sent at %s still won", a.got.Format(time.StampMicro), lastWinSent.Format(time.StampMicro))
			}
		}
		for _, sm := range samples {
			if sm.at.After(a.got) && sm.units > 0 {
				bad++
				if bad <= 5 {
					t.Errorf("told sold_out at %s; the shards held %d units at %s", a.got.Format(time.StampMicro), sm.units, sm.at.Format(time.StampMicro))
				}
				break
			}
		}
	}
	if counts[fmt.Sprintf("%d %s", http.StatusConflict, api.ErrorCodeSoldOut)] == 0 {
		t.Error("no shopper was told sold_out: the timeline checked nothing")
	}

	src := reconcile.Sources{Redis: l.rdb, DB: env.db, DTM: strings.Join(l.dtm, ","), HTTP: s.http}
	var r reconcile.Report
	for settle := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		var err error
		if r, err = reconcile.Check(ctx, src, act); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		if r.Unsettled() == 0 && r.OK() {
			break
		}
		if time.Now().After(settle) {
			t.Fatalf("not settled:\n%s", r)
		}
	}
	if r.LiveOrders != units || r.RedisStock != 0 {
		t.Fatalf("%d orders, %d units left in Redis; want %d and 0", r.LiveOrders, r.RedisStock, units)
	}
	// Both groups carried purchases; every shard sold out.
	for _, g := range l.dtm {
		msgs, err := dtmclient.ListMessages(ctx, s.http, dtmclient.Groups{g}, contract.PurchaseGIDPrefix(act))
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) < units/4 {
			t.Errorf("dtm group %s holds %d of the sale's messages", g, len(msgs))
		}
	}
	shares, err := reader.Shares(ctx, act)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shares {
		if !sh.Loaded || sh.Units != 0 {
			t.Errorf("shard %d after the sale: %+v", sh.Index, sh)
		}
	}
	if kill {
		t.Logf("master %s killed at %s", victim.addr, killedAt.Format(time.StampMilli))
	}
}
