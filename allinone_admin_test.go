package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestEmbeddedAdjustAndCancel: in the embedded mode (SQLite, the in-process
// Redis and dtm server) an admin adds and removes units, the Redis stock
// lost with its journal is re-derived from the adjusted total, and a
// cancelled sale takes no more purchases.
func TestEmbeddedAdjustAndCancel(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir)
	s.start()
	act := s.NewActivity(10)
	for _, adj := range []struct {
		delta int
		id    string
	}{{5, "add_1"}, {-3, "remove_1"}} {
		if r := s.Adjust(act, adj.delta, adj.id); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.StockChangeResultStatusSucceed {
			t.Fatalf("adjust %+d: %s", adj.delta, saletest.Show(r))
		}
	}
	for _, u := range []string{"ann", "ben"} {
		if code, e := s.Buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy %s: %d %s", u, code, e)
		}
	}
	r := s.Settle(act, 15*time.Second)
	if r.Total != 12 || r.LiveOrders != 2 || r.RedisStock != 10 {
		t.Fatalf("after the adjustments and two purchases: %+v", r)
	}

	// Lose the embedded Redis: 12 units (10 + 5 - 3), 2 orders.
	s.stop()
	if err := os.Remove(filepath.Join(dir, "data", "redis.aof")); err != nil {
		t.Fatal(err)
	}
	s.start()
	if st := s.Stats(act); saletest.RedisStock(st) != 10 || st.DBStock != 10 || st.Total != 12 {
		t.Fatalf("re-derived after losing Redis: %s", saletest.JSON(st))
	}

	if c := saletest.Got(s.Admin.CancelActivityWithResponse(t.Context(), act)); c.StatusCode() != http.StatusOK || c.JSON200.Status != api.ActivityStatusEnded {
		t.Fatalf("cancel: %s", saletest.Show(c))
	}
	if code, e := s.Buy(act, "cat"); code != http.StatusGone || e != api.ErrorCodeEnded {
		t.Fatalf("buy after the cancel: %d %s, want 410 ended", code, e)
	}
	// (No reconciliation here: the dtm server's store went with the
	// journal, so the orders' messages are gone; the stores still agree.)
	if st := s.Stats(act); saletest.RedisStock(st) != 10 || st.DBStock != 10 || st.Orders.Created != 2 {
		t.Fatalf("after the cancel: %s", saletest.JSON(st))
	}
}
