package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/testenv"
)

// TestQuickProfile runs the CI profile of the bench end to end: a Redis
// server of its own (redis-server on PATH), the machine's MySQL, the
// services started by scripts/services-up, every run small.
// It asserts no speed, only that the sale happened and that the promises
// hold after it: every run ends reconciled, with the burst's units all
// sold and all turned into orders.
func TestQuickProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick profile starts the whole stack; skipped in -short mode")
	}
	testenv.Program(t, "redis-server", "the bench starts its own Redis")
	testenv.Server(t, "MYSQL_ADDR", "127.0.0.1:3306")
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	rep, err := run(ctx, []string{"-quick", "-json", jsonPath}, os.Getenv, &out, testWriter{t})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Profile != "quick" {
		t.Fatalf("profile %q", rep.Profile)
	}
	b := rep.Ours.Burst
	if b == nil {
		t.Fatal("no burst in the report")
	}
	cfg := QuickConfig()
	if b.Requests != int64(cfg.Burst.Buys) || b.Sold != int64(cfg.Burst.Units) || b.SettledSeconds == nil {
		t.Fatalf("burst: %d requests, %d of %d units sold, settled %v", b.Requests, b.Sold, cfg.Burst.Units, b.SettledSeconds)
	}
	if got := b.Count(202); got != int64(cfg.Burst.Units) {
		t.Errorf("burst: %d answers 202 for %d units", got, cfg.Burst.Units)
	}
	paths := map[string]bool{}
	for _, inv := range rep.Invariants {
		paths[inv.Path] = true
		if !inv.OK || inv.Report.LiveOrders == 0 {
			t.Errorf("%s: not reconciled: %s %s", inv.Path, inv.Report, inv.Error)
		}
	}
	for _, p := range []string{"ours sold-out", "ours success", "ours burst"} {
		if !paths[p] {
			t.Errorf("no reconciliation of %s", p)
		}
	}
	if fi, err := os.Stat(jsonPath); err != nil || fi.Size() == 0 {
		t.Errorf("JSON report: %v", err)
	}
	// The quick profile's bound, for CI; building the binaries depends on the
	// build cache, not on the bench, and is left out.
	if run := rep.Seconds - rep.BuildSeconds; run > 120 {
		t.Errorf("the quick profile took %.0f s (after %.0f s of building), over two minutes", run, rep.BuildSeconds)
	}
}

// testWriter sends the bench's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}
