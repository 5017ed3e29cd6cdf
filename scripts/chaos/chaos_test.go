package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
)

// builds are the binaries of the test run, built once: the correct set in
// dir, and each broken build's one service in its own directory.
var builds struct {
	once   sync.Once
	dir    string
	broken map[string]string // tag -> the binary built with it
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// brokenBuilds name, per sabotage tag, the service it breaks.
var brokenBuilds = map[string]string{
	"sabotage_nobarrier":    "flashsale",
	"sabotage_reload":       "flashsale",
	"sabotage_doubleinsert": "orders",
}

// needBinaries skips t (or fails it when CI=true) when the servers a run
// needs are absent, and returns the directory of the built binaries.
func needBinaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the chaos suite runs for minutes; skipped with -short")
	}
	testenv.Server(t, "MYSQL_ADDR", "127.0.0.1:3306")
	testenv.Program(t, "redis-server", "the chaos run starts its own")
	builds.once.Do(func() {
		if builds.dir, builds.err = os.MkdirTemp("", "flashsale-chaos-bin-"); builds.err != nil {
			return
		}
		builds.err = proc.Build(builds.dir, "faultinject", "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders", "./reconcile/cmd/reconcile")
		builds.broken = map[string]string{}
		for tag, svc := range brokenBuilds {
			if builds.err != nil {
				return
			}
			dir := filepath.Join(builds.dir, tag)
			builds.err = proc.Build(dir, "faultinject "+tag, "./"+svc+"/cmd/"+svc)
			builds.broken[tag] = filepath.Join(dir, svc)
		}
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.dir
}

// chaos runs the runner with args in a work dir of the test's and returns
// its output and error.
func chaos(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), append(args, "-workdir", dir), os.Getenv, &out)
	return out.String(), err
}

// logTails logs the end of every service log of the run in dir.
func logTails(t *testing.T, out string) {
	t.Helper()
	_, rest, ok := strings.Cut(out, "chaos: work dir ")
	if !ok {
		return
	}
	dir, _, _ := strings.Cut(rest, ",")
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("---- %s (last 4000 bytes) ----\n%s", filepath.Base(l), b)
	}
}

// TestChaosCI is the bounded profile CI runs: fixed seeds, a 40 s storm of
// every fault kind over four sales each (the first and third with 10 s to
// pay, so that their orders are cancelled during the storm; an admin
// adjusting the stock of each), then settlement within 60 s and no
// violation. Every run must pass.
func TestChaosCI(t *testing.T) {
	bin := needBinaries(t)
	for _, seed := range []int{1, 2} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			out, err := chaos(t, "-seed", fmt.Sprint(seed), "-bin", bin)
			t.Log("\n" + out)
			if err != nil {
				logTails(t, out)
				t.Fatal(err)
			}
		})
	}
}

// TestChaosCatchesBrokenBuilds runs the runner against builds broken on
// purpose (internal/sabotage), each with the faults that expose its bug,
// and asserts that reconciliation reports the violation the bug causes.
func TestChaosCatchesBrokenBuilds(t *testing.T) {
	bin := needBinaries(t)
	for _, tc := range []struct {
		tag  string
		args []string
		want string
	}{{
		// Without the barrier check, the two clicks of one shopper both
		// take a unit for one message: units vanish from Redis.
		tag:  "sabotage_nobarrier",
		args: []string{"-faults", "none", "-double", "0.3"},
		want: "I2 Redis stock 0 + live orders",
	}, {
		// Reloading the total after a Redis restart puts sold units back
		// on sale.
		tag:  "sabotage_reload",
		args: []string{"-faults", "kill-redis", "-gap-min", "3s", "-gap-max", "4s", "-settle", "15s"},
		want: "I2 Redis stock",
	}, {
		// Without the SQL barrier, a branch redelivered after dtm's
		// request timeout (latency on dtm->orders) takes DB stock again.
		tag:  "sabotage_doubleinsert",
		args: []string{"-faults", "latency-dtm-orders", "-gap-min", "1s", "-gap-max", "2s", "-settle", "15s"},
		want: "I5 DB stock",
	}} {
		t.Run(tc.tag, func(t *testing.T) {
			override := "-" + brokenBuilds[tc.tag] + "-bin"
			// One sale whose orders stay unpaid and live: each bug shows
			// as it always has, cancellations aside.
			args := append([]string{"-seed", "11", "-storm", "10s", "-unpaid", "0", "-bin", bin, override, builds.broken[tc.tag]}, tc.args...)
			out, err := chaos(t, args...)
			t.Log("\n" + out)
			if !errors.Is(err, errFailed) {
				t.Fatalf("the run of the %s build did not fail: %v", tc.tag, err)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("reconciliation did not report %q for the %s build", tc.want, tc.tag)
			}
		})
	}
}

// TestChaosCluster is the cluster profile's short run in CI: the stock on
// a Redis Cluster of 3 masters with a replica each, sales of 4 shards over
// them, dtm's store on a fourth master of its own (with its replica), and
// faults drawn from the cluster's (a master SIGKILLed and failed
// over to its replica, a graceful failover, the master of dtm's store
// SIGKILLed with its replica behind: dtm's store loses its last writes) and
// the processes' (every kind once before any twice), then settlement and
// no violation.
// The long run is `go run ./scripts/chaos -cluster -soak 10m`, every kind.
func TestChaosCluster(t *testing.T) {
	bin := needBinaries(t)
	out, err := chaos(t, "-cluster", "-seed", "3", "-storm", "30s", "-gap-min", "2s", "-gap-max", "4s", "-bin", bin,
		"-faults", "kill-redis-master,failover-redis,lose-dtm-master,kill-flashsale,kill-orders,kill-dtm,stop-flashsale")
	t.Log("\n" + out)
	if err != nil {
		logTails(t, out)
		t.Fatal(err)
	}
	for _, kind := range []string{"kill-redis-master", "failover-redis", "lose-dtm-master"} {
		if !strings.Contains(out, kind) {
			t.Errorf("the run injected no %s", kind)
		}
	}
}
