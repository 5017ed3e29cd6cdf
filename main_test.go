package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
)

// The all-in-one binary, built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flashsale-all-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := proc.Build(dir, "faultinject", "."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "flashsale")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testJWT   = "embedded-jwt-secret-0123456789"
	testAdmin = "embedded-admin-token-0123456789"
)

// sale is one all-in-one process in the embedded mode, in its own data
// directory, on free ports.
type sale struct {
	t    *testing.T
	proc *proc.Process
	shop string
	adm  string
	dtm  string
	http *http.Client
	// admin and jwt are the admin token and the JWT secret the helpers use:
	// testAdmin and testJWT, which newSale supplies in the environment,
	// unless a test has the process generate its own.
	admin, jwt string
}

// newSale prepares an all-in-one process in dir; extra env is appended.
// The environment proves the embedded mode needs no server: every server
// variable is empty, PATH is empty (no redis-server, mysqld or dtm to
// find), and the Redis, MySQL and dtm ports are not used.
func newSale(t *testing.T, dir string, extra ...string) *sale {
	t.Helper()
	shop, adm := testenv.FreePort(t), testenv.FreePort(t)
	dtmPort := testenv.FreePort(t)
	s := &sale{
		t:     t,
		shop:  fmt.Sprintf("http://127.0.0.1:%d", shop),
		adm:   fmt.Sprintf("http://127.0.0.1:%d", adm),
		dtm:   fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", dtmPort),
		http:  &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}},
		admin: testAdmin, jwt: testJWT,
	}
	s.proc = &proc.Process{
		Name: "flashsale", Path: binary, Dir: dir, Log: filepath.Join(dir, "process.log"),
		Args: []string{
			"-data", filepath.Join(dir, "data"), "-demo=false",
			"-addr", fmt.Sprintf("127.0.0.1:%d", shop), "-admin-addr", fmt.Sprintf("127.0.0.1:%d", adm),
			"-internal-addr", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
			"-orders-addr", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
			"-dtm-port", fmt.Sprint(dtmPort), "-dtm-grpc-port", fmt.Sprint(testenv.FreePort(t)),
		},
		Env: append([]string{
			"PATH=", "REDIS_ADDR=", "MYSQL_DSN=", "DTM_SERVER=",
			"FLASHSALE_JWT_SECRET=" + testJWT, "FLASHSALE_ADMIN_TOKEN=" + testAdmin,
			"FLASHSALE_RATE_PER_USER=0", "FLASHSALE_RATE_PER_IP=0", "FLASHSALE_ADMISSION_FACTOR=0",
		}, extra...),
		Ready: proc.HTTP(fmt.Sprintf("http://127.0.0.1:%d/readyz", shop)),
	}
	t.Cleanup(func() {
		s.proc.Kill()
		if t.Failed() {
			t.Logf("---- process log ----\n%s", s.proc.Tail(4000))
		}
	})
	return s
}

// start starts the process and waits until it is ready.
func (s *sale) start() {
	s.t.Helper()
	if err := s.proc.StartReady(context.Background(), time.Minute); err != nil {
		s.t.Fatal(err)
	}
}

// stop stops the process with SIGTERM and waits until it is gone.
func (s *sale) stop() {
	s.t.Helper()
	if err := s.proc.Stop(time.Minute); err != nil {
		s.t.Fatal(err)
	}
}

// waitLine waits until the process printed a line containing substr and
// returns it.
func (s *sale) waitLine(substr string, timeout time.Duration) string {
	s.t.Helper()
	line, err := s.proc.WaitLine(substr, timeout)
	if err != nil {
		s.t.Fatal(err)
	}
	return line
}

// runToExit runs the process to its end, for a start that must fail, and
// returns its exit code and output.
func (s *sale) runToExit(timeout time.Duration) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.proc.Path, s.proc.Args...)
	cmd.Env = append(os.Environ(), s.proc.Env...)
	cmd.Dir = s.proc.Dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		s.t.Fatalf("%s still running after %s:\n%s", s.proc.Name, timeout, out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		s.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func (s *sale) call(method, url, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.checked().Do(req)
	if err != nil {
		return 0, map[string]any{"error": "transport", "message": err.Error()}
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// checked is s.http, validating every exchange against the API's
// document (internal/api/openapi.yaml).
func (s *sale) checked() *http.Client {
	return apitest.Client(s.t, s.http, apitest.Listeners{s.shop: apitest.Shopper, s.adm: apitest.Admin})
}

func (s *sale) newActivity(total int) int64 {
	s.t.Helper()
	code, p := s.call("POST", s.adm+"/admin/v1/products", s.admin, map[string]any{"name": "Phone", "price": 5000})
	if code != http.StatusCreated {
		s.t.Fatalf("create product: %d %v", code, p)
	}
	code, a := s.call("POST", s.adm+"/admin/v1/activities", s.admin, map[string]any{
		"name": "sale", "product_id": p["id"], "price": 100, "total": total,
		"start_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"end_at":   time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
	if code != http.StatusCreated {
		s.t.Fatalf("create activity: %d %v", code, a)
	}
	return int64(a["id"].(float64))
}

func shopper(user string) string { return auth.Mint(testJWT, user, time.Now(), time.Hour) }

// soldThree creates an activity of 10 units, sells one each to ann, ben
// and cat, waits until the sale is settled, and returns the activity.
func (s *sale) soldThree() int64 {
	s.t.Helper()
	act := s.newActivity(10)
	for _, u := range []string{"ann", "ben", "cat"} {
		if code, e := s.buy(act, u); code != http.StatusAccepted {
			s.t.Fatalf("buy %s: %d %s", u, code, e)
		}
	}
	s.settle(act, 15*time.Second)
	return act
}

func (s *sale) buy(act int64, user string) (int, string) {
	return s.buyWith(act, auth.Mint(s.jwt, user, time.Now(), time.Hour))
}

// buyWith buys a unit of act with the shopper token tok.
func (s *sale) buyWith(act int64, tok string) (int, string) {
	_, sec := s.call("GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", s.shop, act), tok, nil)
	code, body := s.call("POST", fmt.Sprintf("%s/api/v1/activities/%d/buy", s.shop, act), tok, map[string]any{"secret": sec["secret"]})
	e, _ := body["error"].(string)
	return code, e
}

// settle polls the admin reconciliation until no purchase message of act is
// prepared or submitted and I1-I5 hold; it returns the report.
func (s *sale) settle(act int64, timeout time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := s.call("GET", fmt.Sprintf("%s/admin/v1/reconcile?activity=%d", s.adm, act), s.admin, nil)
		r, _ := body["report"].(map[string]any)
		msgs, _ := r["messages"].(map[string]any)
		if code == http.StatusOK && body["ok"] == true && msgs[dtmcli.StatusPrepared] == nil && msgs[dtmcli.StatusSubmitted] == nil {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not settled after %s: %d %v", timeout, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *sale) stats(act int64) map[string]any {
	s.t.Helper()
	code, body := s.call("GET", fmt.Sprintf("%s/admin/v1/activities/%d/stats", s.adm, act), s.admin, nil)
	if code != http.StatusOK {
		s.t.Fatalf("stats: %d %v", code, body)
	}
	return body
}

// TestEmbeddedSale: 400 shoppers chase 100 units through HTTP in the
// embedded mode; exactly 100 get an order and the promises hold.
func TestEmbeddedSale(t *testing.T) {
	s := newSale(t, t.TempDir())
	s.start()
	act := s.newActivity(100)
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, e := s.buy(act, fmt.Sprintf("shopper%d", i))
			mu.Lock()
			got[fmt.Sprintf("%d %s", code, e)]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if want := map[string]int{"202 ": 100, "409 sold_out": 300}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got, want)
	}
	r := s.settle(act, 30*time.Second)
	if r["live_orders"] != 100.0 || r["redis_stock"] != 0.0 || r["db_stock"] != 0.0 {
		t.Fatalf("after settlement: %v", r)
	}
}

// TestEmbeddedRestart: orders and stock survive a SIGTERM and a restart;
// and when the Redis journal is lost, the stock is re-derived from the
// database, not reloaded from the activity's total.
func TestEmbeddedRestart(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir)
	s.start()
	act := s.soldThree()
	s.stop()
	if c := s.proc.ExitCode(); c != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", c)
	}
	s.start()
	st := s.stats(act)
	orders := st["orders"].(map[string]any)
	if st["redis_stock"] != 7.0 || st["db_stock"] != 7.0 || orders["created"] != 3.0 {
		t.Fatalf("after restart: %v", st)
	}
	code, body := s.call("GET", fmt.Sprintf("%s/api/v1/activities/%d/order", s.shop, act), shopper("ben"), nil)
	if code != http.StatusOK || body["status"] != "created" {
		t.Fatalf("ben's order after restart: %d %v", code, body)
	}
	if code, e := s.buy(act, "ben"); code != http.StatusConflict || e != "already_purchased" {
		t.Fatalf("ben buys again after restart: %d %s", code, e)
	}
	if code, e := s.buy(act, "dan"); code != http.StatusAccepted {
		t.Fatalf("a new shopper after restart: %d %s", code, e)
	}
	r := s.settle(act, 15*time.Second)
	if r["live_orders"] != 4.0 || r["redis_stock"] != 6.0 {
		t.Fatalf("after the new purchase: %v", r)
	}

	// Lose the embedded Redis (its journal) and restart: 10 units, 4 live
	// orders, so 6 are re-derived; the buyers' barriers come back too.
	s.stop()
	if err := os.Remove(filepath.Join(dir, "data", "redis.aof")); err != nil {
		t.Fatal(err)
	}
	s.start()
	if st := s.stats(act); st["redis_stock"] != 6.0 || st["db_stock"] != 6.0 {
		t.Fatalf("after losing Redis: %v", st)
	}
	if code, e := s.buy(act, "dan"); code != http.StatusConflict || e != "already_purchased" {
		t.Fatalf("dan buys again after Redis was lost: %d %s", code, e)
	}
	if code, e := s.buy(act, "eve"); code != http.StatusAccepted {
		t.Fatalf("a new shopper after Redis was lost: %d %s", code, e)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := s.stats(act)
		if st["orders"].(map[string]any)["created"] == 5.0 && st["redis_stock"] == 5.0 && st["db_stock"] == 5.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eve's order: %v", st)
		}
	}
}

// TestEmbeddedKilledAfterLua: the process is SIGKILLed after the Lua step
// took a unit and before Submit. The embedded Redis comes back from its
// journal with the unit taken and the barrier set, the dtm server (its
// transactions in that Redis) back-checks the prepared message, commits it,
// and the order is created: the same settlement as the services mode.
func TestEmbeddedKilledAfterLua(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir, "FLASHSALE_FAULTPOINTS=after-lua:victim")
	s.start()
	act := s.newActivity(10)
	if code, e := s.buy(act, "early"); code != http.StatusAccepted {
		t.Fatalf("buy before the crash: %d %s", code, e)
	}
	go s.buy(act, "victim")
	s.waitLine(fmt.Sprintf("FAULTPOINT after-lua flash-sale-%d-victim", act), 10*time.Second)
	s.proc.Kill()
	s.proc.Env = s.proc.Env[:len(s.proc.Env)-1] // restart without the fault point
	s.start()
	start := time.Now()
	r := s.settle(act, 25*time.Second)
	t.Logf("settled %s after the restart: %v", time.Since(start).Round(100*time.Millisecond), r)
	msgs := r["messages"].(map[string]any)
	if r["live_orders"] != 2.0 || r["redis_stock"] != 8.0 || msgs[dtmcli.StatusSucceed] != 2.0 {
		t.Fatalf("after settlement: %v", r)
	}
	code, body := s.call("GET", fmt.Sprintf("%s/api/v1/activities/%d/order", s.shop, act), shopper("victim"), nil)
	if code != http.StatusOK || body["status"] != "created" {
		t.Fatalf("victim's order: %d %v", code, body)
	}
}

// TestEmbeddedJournalCut: a power loss cuts the embedded Redis's journal
// after three purchases whose orders SQLite committed: their units, their
// barriers and their dtm messages are gone, their orders are not. At the
// next start the stock is re-derived (the embedded Redis has a new run id,
// so every counter is stale) and the repair submits the three messages
// again: 7 units left, 3 orders, every message succeeded, reconcile clean.
func TestEmbeddedJournalCut(t *testing.T) {
	dir := t.TempDir()
	var extra []string
	if os.Getenv("IT_REPAIR") == "off" { // the check that this tests the repair: it fails
		extra = append(extra, "FLASHSALE_REPAIR=off")
	}
	s := newSale(t, dir, extra...)
	s.start()
	act := s.newActivity(10)
	time.Sleep(2 * time.Second) // the start's writes (the store's marker) done
	journal := filepath.Join(dir, "data", "redis.aof")
	before, err := os.Stat(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann", "ben", "cat"} {
		if code, e := s.buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy %s: %d %s", u, code, e)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); s.stats(act)["orders"].(map[string]any)["created"] != 3.0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("orders: %v", s.stats(act))
		}
	}
	s.proc.Kill()
	if err := os.Truncate(journal, before.Size()); err != nil {
		t.Fatal(err)
	}
	s.start()
	r := s.settle(act, 15*time.Second)
	msgs, _ := r["messages"].(map[string]any)
	if r["live_orders"] != 3.0 || r["redis_stock"] != 7.0 || r["db_stock"] != 7.0 || msgs[dtmcli.StatusSucceed] != 3.0 {
		t.Fatalf("after the cut: %v", r)
	}
	if code, e := s.buy(act, "ann"); code != http.StatusConflict || e != "already_purchased" {
		t.Fatalf("ann buys again after the cut: %d %s", code, e)
	}
}
