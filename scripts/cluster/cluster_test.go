package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
)

const (
	testJWT   = "cluster-test-jwt-secret-0123456789"
	testAdmin = "cluster-test-admin-token-0123456789"
)

// freeBase returns a base port whose whole range (base to base+400) is
// free now.
func freeBase(t *testing.T) int {
	base, err := proc.FreeRange(400)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// TestClusterUpDown starts the layout with scripts/cluster's up, as a user
// does: a sale of 4 shards bought through HAProxy by 400 shoppers for 150
// units sells exactly 150, both flashsale instances and both dtm groups
// carrying purchases, I1-I5 holding (the admin API's reconcile, through
// the balancer). An unsigned call through the balancer's port for dtm
// (an intruder on the services' network) is refused and changes nothing.
// A second up starts nothing; down stops every process.
func TestClusterUpDown(t *testing.T) {
	for _, p := range []string{"redis-server", "redis-cli", "haproxy"} {
		testenv.Program(t, p, "scripts/cluster starts it")
	}
	dsn := testenv.MySQLDSN(t)
	dir := t.TempDir()
	base := freeBase(t)
	shop, admin, internal, orders := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	env := map[string]string{"FLASHSALE_JWT_SECRET": testJWT, "FLASHSALE_ADMIN_TOKEN": testAdmin}
	args := []string{"-dir", dir, "-base-port", strconv.Itoa(base), "-mysql", dsn, "-weights", "2,1",
		"-shopper-port", strconv.Itoa(shop), "-admin-port", strconv.Itoa(admin), "-internal-port", strconv.Itoa(internal), "-orders-port", strconv.Itoa(orders)}
	ctx := context.Background()
	t.Cleanup(func() { run(ctx, append([]string{"down"}, args...), func(k string) string { return env[k] }) })
	if err := run(ctx, append([]string{"up"}, args...), func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, name := range []string{"redis0", "redis5", "dtm0", "dtm1", "orders0", "orders1", "flashsale0", "flashsale1", "haproxy"} {
		pid, ok := running(dir, name)
		if !ok {
			t.Fatalf("%s is not running after up", name)
		}
		pids[name] = pid
	}
	if err := run(ctx, append([]string{"up"}, args...), func(k string) string { return env[k] }); err != nil {
		t.Fatalf("a second up: %v", err)
	}
	for name, pid := range pids {
		if now, _ := running(dir, name); now != pid {
			t.Errorf("a second up restarted %s (pid %d, now %d)", name, pid, now)
		}
	}

	// Every exchange with the services, through the balancer or not, is
	// held against the document.
	adminURL, shopURL, internalURL := "http://"+addr(admin), "http://"+addr(shop), "http://"+addr(internal)
	hc := apitest.Client(t, &http.Client{Timeout: 15 * time.Second},
		apitest.Listeners{adminURL: apitest.Admin, shopURL: apitest.Shopper, internalURL: apitest.Internal})
	adminAPI, shopAPI := api.New(adminURL, hc), api.New(shopURL, hc)
	const units, shoppers = 150, 400
	p, a := api.SaleNow("hot", units, 4)
	sale, err := adminAPI.OpenSale(ctx, p, a, api.Bearer(testAdmin))
	if err != nil {
		t.Fatalf("open a sale through the balancer: %v", err)
	}
	act := sale.ID

	// The intruder: a return of a unit, unsigned, through the port dtm
	// calls.
	ret, err := api.New(internalURL, hc).ReturnStockWithResponse(ctx,
		&api.ReturnStockParams{GID: fmt.Sprintf("flash-sale-cancel-%d-x", act), TransType: "msg", Op: "action", BranchID: "01"},
		api.ReturnRequest{ActivityID: act, UserID: "x"})
	if err := api.Expect("returnStock", ret, err, http.StatusUnauthorized); err != nil {
		t.Errorf("an unsigned return through the balancer: %v", err)
	}

	var mu sync.Mutex
	answers := map[int]int{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range shoppers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tok := api.Bearer(auth.Mint(testJWT, fmt.Sprintf("c%d", i), time.Now(), time.Hour))
			for try := 0; ; try++ {
				var secret string
				if r, err := shopAPI.GetSecretWithResponse(ctx, act, nil, tok); err == nil && r.JSON200 != nil {
					secret = r.JSON200.Secret
				}
				code := 0 // no answer
				if r, err := shopAPI.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: secret}, tok); err == nil {
					code = r.StatusCode()
				}
				// One address for every shopper: the per-address limit
				// answers 429 (the balancer passes the address on).
				if (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests) && try < 100 {
					time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
					continue
				}
				mu.Lock()
				answers[code]++
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	if answers[http.StatusAccepted] != units || answers[http.StatusConflict] != shoppers-units {
		t.Fatalf("answers %v: want %d 202 and %d 409", answers, units, shoppers-units)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r, err := adminAPI.GetReconcileWithResponse(ctx, &api.GetReconcileParams{Activity: act}, api.Bearer(testAdmin))
		err = api.Expect("getReconcile", r, err, http.StatusOK)
		if err == nil {
			if rec := r.JSON200; rec.Ok && len(rec.Report.Pending) == 0 && rec.Report.LiveOrders == units {
				break
			}
			err = fmt.Errorf("%s", r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconcile through the balancer: %v", err)
		}
	}
	// Both instances answered buys (the shopper port weighs them 2:1).
	for i := range 2 {
		_, ap, _ := layout{base: base}.flashsalePorts(i)
		m, err := api.New("http://"+addr(ap), hc).MetricsWithResponse(ctx)
		if err := api.Expect("metrics", m, err, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(m.Body), `flashsale_buys_total{outcome="accepted"}`) {
			t.Errorf("flashsale%d accepted no buy behind the balancer", i)
		}
	}
	for g, group := range dtmclient.ParseGroups(layout{base: base, groups: 2}.dtmServers()) {
		msgs, err := dtmclient.ListMessages(ctx, hc, dtmclient.Groups{group}, contract.PurchaseGIDPrefix(act))
		if err != nil || len(msgs) < units/4 {
			t.Errorf("dtm group %d holds %d transactions of %d purchases (%v)", g, len(msgs), units, err)
		}
	}

	if err := run(ctx, append([]string{"down"}, args...), func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if _, ok := running(dir, name); ok {
			t.Errorf("%s still runs after down", name)
		}
	}
}
