package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestObserveStock finds the units the sold-out poll read in the scrape,
// per activity, the last reading winning.
func TestObserveStock(t *testing.T) {
	m := New()
	m.ObserveStock(7, 100)
	m.ObserveStock(7, 42)
	m.ObserveStock(9, 0)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`flashsale_stock_remaining_units{activity="7"} 42`,
		`flashsale_stock_remaining_units{activity="9"} 0`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("scrape has no line %q:\n%s", want, body)
		}
	}
}
