package rediscache_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// ownRedis is a Redis server of the test's own, persisting to an
// append-only file in dir, so that the test can restart it.
type ownRedis struct {
	t    *testing.T
	proc *proc.Process
	addr string
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	bin := testenv.Program(t, "redis-server", "the test restarts a Redis server of its own")
	dir := t.TempDir()
	port := testenv.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	r := &ownRedis{t: t, addr: addr, proc: &proc.Process{
		Name: "redis", Path: bin, Log: filepath.Join(dir, "redis.log"),
		Args: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(testenv.FreePort(t)),
			"--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""},
		Ready: proc.Redis(addr),
	}}
	r.start()
	t.Cleanup(func() { r.proc.Kill() })
	return r
}

func (r *ownRedis) start() {
	r.t.Helper()
	if err := r.proc.StartReady(context.Background(), 10*time.Second); err != nil {
		r.t.Fatal(err)
	}
}

// TestHotScriptsSeeARestart: the buy path's scripts run as functions
// whose run id is kept between calls, yet a counter set before a restart
// of the server is stale after it (the kept run id went with the process),
// on the very first call: Take takes nothing and CheckBuy reports the
// counter not loaded until it is set again.
func TestHotScriptsSeeARestart(t *testing.T) {
	ctx := context.Background()
	r := startOwnRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer rdb.Close()
	s := rediscache.NewStock(rdb, time.Hour, rediscache.OneShard)
	const act = 7
	if err := s.Preheat(ctx, act, 1, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, act, "before"); err != nil {
		t.Fatalf("take before the restart: %v", err)
	}
	if libs, err := rdb.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(libs) != 1 {
		t.Fatalf("function libraries %v, %v: want the buy path's one", libs, err)
	}
	r.proc.Kill()
	r.start()
	if err := s.Take(ctx, act, "after"); !errors.Is(err, flashsale.ErrStale) {
		t.Fatalf("take after the restart: %v, want ErrStale", err)
	}
	if chk, err := s.CheckBuy(ctx, act, "g", nil); err != nil || chk.Loaded {
		t.Fatalf("CheckBuy after the restart: %+v, %v: want not loaded", chk, err)
	}
	if chk, err := s.CheckBuy(ctx, act, "g", []flashsale.RateWindow{{Key: "{fs:rl:u:x}:1", Limit: 5}}); err != nil || chk.Loaded || chk.Wait != 0 {
		t.Fatalf("CheckBuy with a window after the restart: %+v, %v: want allowed, not loaded", chk, err)
	}
	token, err := s.Freeze(ctx, act)
	if err != nil || token == "" {
		t.Fatalf("Freeze after the restart: %q, %v", token, err)
	}
	if err := s.Restore(ctx, act, token, 9, []string{"before"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, act, "after"); err != nil {
		t.Fatalf("take once re-derived: %v", err)
	}
	if chk, err := s.CheckBuy(ctx, act, "g", nil); err != nil || !chk.Loaded || chk.Units != 8 {
		t.Fatalf("CheckBuy once re-derived: %+v, %v: want 8 units", chk, err)
	}
}

// TestHotScriptsReloaded: a server that lost the library (FUNCTION FLUSH,
// a new empty server) gets it again on the next call, which succeeds.
func TestHotScriptsReloaded(t *testing.T) {
	ctx := context.Background()
	r := startOwnRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	s := rediscache.NewStock(rdb, time.Hour, rediscache.OneShard)
	if err := s.Preheat(ctx, 1, 1, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if err := rdb.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, 1, "b"); err != nil {
		t.Fatalf("take after FUNCTION FLUSH: %v", err)
	}
	if n, ok, err := s.Remaining(ctx, 1); err != nil || !ok || n != 1 {
		t.Fatalf("Remaining = %d, %v, %v; want 1", n, ok, err)
	}
	// The rate windows and the stock read, one function call: a second buy
	// in a window of one waits and reads nothing.
	w := []flashsale.RateWindow{{Key: "{fs:rl:u:y}:1", Limit: 1}}
	if chk, err := s.CheckBuy(ctx, 1, "g", w); err != nil || !chk.Loaded || chk.Units != 1 || chk.Wait != 0 {
		t.Fatalf("CheckBuy = %+v, %v; want 1 unit", chk, err)
	}
	if chk, err := s.CheckBuy(ctx, 1, "g", w); err != nil || chk.Wait <= 0 || chk.Loaded {
		t.Fatalf("a second buy in a window of 1: %+v, %v; want a wait and no read", chk, err)
	}
}

// TestHotScriptsWithoutFunctions: on a server without Redis functions
// (the embedded one is miniredis) the same scripts run by EVALSHA, the
// epoch compared with what INFO says on every call.
func TestHotScriptsWithoutFunctions(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	s := rediscache.NewStock(rdb, time.Hour, rediscache.OneShard)
	if err := s.Preheat(ctx, 1, 1, 2); err != nil {
		t.Fatal(err)
	}
	w := []flashsale.RateWindow{{Key: "{fs:rl:u:x}:1", Limit: 1}}
	if chk, err := s.CheckBuy(ctx, 1, "g", w); err != nil || !chk.Loaded || chk.Units != 2 || chk.Wait != 0 {
		t.Fatalf("CheckBuy = %+v, %v; want 2 units", chk, err)
	}
	if chk, err := s.CheckBuy(ctx, 1, "g", w); err != nil || chk.Wait <= 0 {
		t.Fatalf("a second buy in a window of 1: %+v, %v; want a wait", chk, err)
	}
	if err := s.Take(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, 1, "a"); !errors.Is(err, flashsale.ErrDuplicate) {
		t.Fatalf("the same barrier again: %v", err)
	}
}
