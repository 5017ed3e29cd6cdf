package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
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
	args := []string{"-dir", dir, "-base-port", itoa(base), "-mysql", dsn, "-weights", "2,1",
		"-shopper-port", itoa(shop), "-admin-port", itoa(admin), "-internal-port", itoa(internal), "-orders-port", itoa(orders)}
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

	hc := &http.Client{Timeout: 15 * time.Second}
	call := func(method, url, token string, body any) (int, map[string]any) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, map[string]any{"transport": err.Error()}
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	adminURL, shopURL := "http://"+addr(admin), "http://"+addr(shop)
	code, p := call("POST", adminURL+"/admin/v1/products", testAdmin, map[string]any{"name": "Phone", "price": 5000})
	if code != http.StatusCreated {
		t.Fatalf("create product through the balancer: %d %v", code, p)
	}
	const units, shoppers = 150, 400
	code, a := call("POST", adminURL+"/admin/v1/activities", testAdmin, map[string]any{"name": "hot", "product_id": p["id"], "price": 100,
		"total": units, "shards": 4, "start_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if code != http.StatusCreated {
		t.Fatalf("create activity: %d %v", code, a)
	}
	act := int64(a["id"].(float64))

	// The intruder: a return of a unit, unsigned, through the port dtm
	// calls.
	code, body := call("POST", fmt.Sprintf("http://%s/internal/stock/return?gid=flash-sale-cancel-%d-x&trans_type=msg&op=action&branch_id=01", addr(internal), act), "",
		map[string]any{"activity_id": act, "user_id": "x"})
	if code != http.StatusUnauthorized {
		t.Errorf("an unsigned return through the balancer: %d %v; want 401", code, body)
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
			tok := auth.Mint(testJWT, fmt.Sprintf("c%d", i), time.Now(), time.Hour)
			for try := 0; ; try++ {
				_, sec := call("GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", shopURL, act), tok, nil)
				code, _ := call("POST", fmt.Sprintf("%s/api/v1/activities/%d/buy", shopURL, act), tok, map[string]any{"secret": sec["secret"]})
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
	var rec map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, rec = call("GET", fmt.Sprintf("%s/admin/v1/reconcile?activity=%d", adminURL, act), testAdmin, nil)
		report, _ := rec["report"].(map[string]any)
		pending, _ := report["pending"].([]any) // absent when none
		if code == http.StatusOK && rec["ok"] == true && report != nil && len(pending) == 0 && report["live_orders"] == float64(units) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconcile through the balancer: %d %v", code, rec)
		}
	}
	// Both instances answered buys (the shopper port weighs them 2:1).
	for i := range 2 {
		_, ap, _ := layout{base: base}.flashsalePorts(i)
		resp, err := hc.Get("http://" + addr(ap) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(m), `flashsale_buys_total{outcome="accepted"}`) {
			t.Errorf("flashsale%d accepted no buy behind the balancer", i)
		}
	}
	for g := range 2 {
		code, all := call("GET", fmt.Sprintf("http://%s/api/dtmsvr/all?limit=1000", addr(layout{base: base}.dtmPort(g))), "", nil)
		if txs, _ := all["transactions"].([]any); code != http.StatusOK || len(txs) < units/4 {
			t.Errorf("dtm group %d holds %d transactions of %d purchases", g, len(txs), units)
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
