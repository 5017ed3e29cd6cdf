package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
)

// TestEmbeddedAdjustAndCancel: in the embedded mode (SQLite, the in-process
// Redis and dtm server) an admin adds and removes units, the Redis stock
// lost with its journal is re-derived from the adjusted total, and a
// cancelled sale takes no more purchases.
func TestEmbeddedAdjustAndCancel(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir)
	s.start()
	act := s.newActivity(10)
	for _, adj := range []struct {
		delta int
		id    string
	}{{5, "add_1"}, {-3, "remove_1"}} {
		code, body := s.call("POST", fmt.Sprintf("%s/admin/v1/activities/%d/stock", s.adm, act), testAdmin,
			map[string]any{"delta": adj.delta, "request_id": adj.id})
		if code != http.StatusOK || body["status"] != dtmcli.StatusSucceed {
			t.Fatalf("adjust %+d: %d %v", adj.delta, code, body)
		}
	}
	for _, u := range []string{"ann", "ben"} {
		if code, e := s.buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy %s: %d %s", u, code, e)
		}
	}
	r := s.settle(act, 15*time.Second)
	if r["total"] != 12.0 || r["live_orders"] != 2.0 || r["redis_stock"] != 10.0 {
		t.Fatalf("after the adjustments and two purchases: %v", r)
	}

	// Lose the embedded Redis: 12 units (10 + 5 - 3), 2 orders.
	s.stop()
	if err := os.Remove(filepath.Join(dir, "data", "redis.aof")); err != nil {
		t.Fatal(err)
	}
	s.start()
	if st := s.stats(act); st["redis_stock"] != 10.0 || st["db_stock"] != 10.0 || st["total"] != 12.0 {
		t.Fatalf("re-derived after losing Redis: %v", st)
	}

	code, body := s.call("POST", fmt.Sprintf("%s/admin/v1/activities/%d/cancel", s.adm, act), testAdmin, nil)
	if code != http.StatusOK || body["status"] != "ended" {
		t.Fatalf("cancel: %d %v", code, body)
	}
	if code, e := s.buy(act, "cat"); code != http.StatusGone || e != "ended" {
		t.Fatalf("buy after the cancel: %d %s, want 410 ended", code, e)
	}
	// (No reconciliation here: the dtm server's store went with the
	// journal, so the orders' messages are gone; the stores still agree.)
	st := s.stats(act)
	if st["redis_stock"] != 10.0 || st["db_stock"] != 10.0 || st["orders"].(map[string]any)["created"] != 2.0 {
		t.Fatalf("after the cancel: %v", st)
	}
}
