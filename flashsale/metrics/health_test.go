package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHealthExported: what the alerting rules read is served at /metrics
// as set: the stores' readiness, each dtm group's oldest unfinished
// message (0 for none, gone for a group that did not answer), the
// re-derivations and reconciliation's last result.
func TestHealthExported(t *testing.T) {
	m := New()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	m.SetStoreReady("redis", nil)
	m.SetStoreReady("mysql", errors.New("refused"))
	m.SetDTMOldest([]string{"g1", "g2", "g3"}, map[string]time.Time{"g1": now.Add(-90 * time.Second), "g2": {}, "g3": now}, now)
	m.SetDTMOldest([]string{"g1", "g2", "g3"}, map[string]time.Time{"g1": now.Add(-90 * time.Second), "g2": {}}, now)
	m.StockRederived.Add(2)
	m.StockRederiveFailures.Inc()
	m.SetReconciled(7, 3)

	body := scrape(t, m)
	for _, line := range []string{
		`flashsale_store_ready{store="redis"} 1`,
		`flashsale_store_ready{store="mysql"} 0`,
		`flashsale_dtm_oldest_unfinished_seconds{group="g1"} 90`,
		`flashsale_dtm_oldest_unfinished_seconds{group="g2"} 0`,
		`flashsale_stock_rederived_total 2`,
		`flashsale_stock_rederive_failures_total 1`,
		`flashsale_reconcile_violations{activity="7"} 3`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if strings.Contains(body, `group="g3"`) {
		t.Errorf("/metrics still shows group g3, which did not answer")
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
