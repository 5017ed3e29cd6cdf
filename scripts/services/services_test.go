package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
)

// env is a getenv over vars.
func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := load("/repo", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.run != "/repo/.run" || c.redisAddr != "127.0.0.1:6379" || c.mysqlDSN != "root@tcp(127.0.0.1:3306)/flashsale" ||
		c.dtmHTTP != 36789 || c.dtmGRPC != 36790 || c.dtmImpl != "launcher" || c.readyTimeout != 30*time.Second ||
		c.stopTimeout != 10*time.Second || !c.ownDTMRedis || c.dtmRedis != "127.0.0.1:6390" {
		t.Fatalf("defaults: %+v", c)
	}
	var names []string
	for _, s := range c.services() {
		names = append(names, s.name)
	}
	if !slices.Equal(names, []string{"dtm-redis", "dtm", "orders", "flashsale"}) {
		t.Fatalf("services %v", names)
	}
	if c, _ := load("/repo", env(map[string]string{"FLASHSALE_RUN_DIR": "runs/a", "DTM_REDIS_ADDR": "10.0.0.1:6379"})); c.run != "/repo/runs/a" || c.ownDTMRedis || len(c.services()) != 3 {
		t.Fatalf("a relative run directory, dtm's store given: %+v", c)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, vars := range []map[string]string{
		{"DTM_IMPL": "docker"},
		{"DTM_REDIS_ADDR": "127.0.0.1:7000,127.0.0.1:7001"},
		{"DTM_REDIS_PORT": "x6390"},
		{"READY_TIMEOUT": "soon"},
	} {
		if _, err := load("/repo", env(vars)); err == nil {
			t.Errorf("%v: accepted", vars)
		}
	}
}

func TestServicesTalkToEachOther(t *testing.T) {
	c, err := load("/repo", env(map[string]string{"FLASHSALE_INTERNAL_ADDR": "0.0.0.0:9082", "ORDERS_ADDR": ":9090",
		"DTM_SERVER": "http://elsewhere/api/dtmsvr", "REDIS_DB": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	e := strings.Join(c.env(), " ")
	for _, want := range []string{"DTM_SERVER=http://127.0.0.1:36789/api/dtmsvr", "ORDERS_URL=http://127.0.0.1:9090",
		"FLASHSALE_INTERNAL_URL=http://127.0.0.1:9082", "REDIS_DB=3", "ORDERS_ADDR=:9090"} {
		if !strings.Contains(e, want) {
			t.Errorf("no %s in %s", want, e)
		}
	}
}

func TestSecretsAndKey(t *testing.T) {
	c, _ := load(t.TempDir(), env(map[string]string{"FLASHSALE_JWT_SECRET": "short"}))
	if err := c.checkSecrets(); err == nil {
		t.Fatal("a short JWT secret and no admin token accepted")
	}
	c, _ = load(t.TempDir(), env(nil))
	made, err := c.ensureInternalKey()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.keyFile())
	if err != nil || fi.Mode().Perm() != 0o600 || len(made.internalKey) != 64 {
		t.Fatalf("key file %v %v, key %q", fi, err, made.internalKey)
	}
	if again, _ := c.ensureInternalKey(); again.internalKey != made.internalKey {
		t.Fatal("a second up made another key")
	}
	c.internalKey = "too-short"
	if _, err := c.ensureInternalKey(); err == nil {
		t.Fatal("a short FLASHSALE_INTERNAL_KEY accepted")
	}
}

// TestUpDown starts the services mode as a user does, on free ports in a
// run directory of the test's own: every process answers, a second up
// starts nothing, and down stops every one and removes its pid file.
func TestUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the services; skipped with -short")
	}
	testenv.Program(t, "redis-server", "dtm's store")
	redis := testenv.Server(t, "REDIS_ADDR", "127.0.0.1:6379")
	port := func() string { return strconv.Itoa(testenv.FreePort(t)) }
	vars := map[string]string{
		"FLASHSALE_RUN_DIR": t.TempDir(), "REDIS_ADDR": redis, "REDIS_DB": os.Getenv("IT_REDIS_DB"), "MYSQL_DSN": testenv.MySQLDSN(t),
		"FLASHSALE_ADDR": "127.0.0.1:" + port(), "FLASHSALE_ADMIN_ADDR": "127.0.0.1:" + port(),
		"FLASHSALE_INTERNAL_ADDR": "127.0.0.1:" + port(), "ORDERS_ADDR": "127.0.0.1:" + port(),
		"DTM_HTTP_PORT": port(), "DTM_GRPC_PORT": port(), "DTM_REDIS_PORT": port(), "READY_TIMEOUT": "60",
		"FLASHSALE_JWT_SECRET": "services-test-jwt-0123456789", "FLASHSALE_ADMIN_TOKEN": "services-test-admin-0123456789",
	}
	ctx := context.Background()
	var out strings.Builder
	t.Cleanup(func() { run(ctx, []string{"down"}, env(vars), &out) })
	if err := run(ctx, []string{"up"}, env(vars), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	c, _ := load(proc.ModuleRoot(), env(vars))
	pids := map[string]int{}
	for _, s := range c.services() {
		pid, err := proc.ReadPidFile(filepath.Join(c.run, "pids", s.name+".pid"))
		if err != nil {
			t.Fatal(err)
		}
		pids[s.name] = pid
		for _, u := range s.ready {
			if strings.HasPrefix(u, "http") {
				resp, err := http.Get(u)
				if err != nil {
					t.Fatalf("%s after up: %v", u, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s after up: %s", u, resp.Status)
				}
			}
		}
	}
	out.Reset()
	if err := run(ctx, []string{"up"}, env(vars), &out); err != nil {
		t.Fatalf("a second up: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "is already running"); n != 4 || strings.Contains(out.String(), "started") {
		t.Fatalf("a second up:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"down"}, env(vars), &out); err != nil {
		t.Fatalf("down: %v\n%s", err, out.String())
	}
	for name, pid := range pids {
		if !strings.Contains(out.String(), name+": stopped (pid "+strconv.Itoa(pid)+")") {
			t.Errorf("down did not stop %s:\n%s", name, out.String())
		}
		if _, err := os.Stat(filepath.Join(c.run, "pids", name+".pid")); !os.IsNotExist(err) {
			t.Errorf("the pid file of %s stayed: %v", name, err)
		}
	}
}
