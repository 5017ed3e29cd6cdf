package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// fakeStock and fakeCatalog stand for the stores: only Ping is called.
type fakeStock struct {
	flashsale.Stock
	err error
}

type fakeCatalog struct {
	flashsale.Catalog
	err error
}

func (f fakeStock) Ping(context.Context) error   { return f.err }
func (f fakeCatalog) Ping(context.Context) error { return f.err }

func get(t *testing.T, h http.Handler, path string) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	raw := rec.Body.String()
	var body map[string]any
	json.Unmarshal([]byte(raw), &body)
	return rec.Code, body, raw
}

// TestHealthByListener: the shopper listener has /healthz and a /readyz
// that says only "not ready", and no /metrics; the operator's listeners
// keep /metrics and name the store that is down.
func TestHealthByListener(t *testing.T) {
	const secret = "dial tcp 10.1.2.3:6379: connection refused"
	d := Deps{
		Stock:   fakeStock{err: errors.New(secret)},
		Catalog: fakeCatalog{},
		Metrics: metrics.New(),
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	shopper, operator := newEngine(d.Log), newEngine(d.Log)
	shopperHealth(shopper, d)
	health(operator, d)

	for name, h := range map[string]*gin.Engine{"shopper": shopper, "operator": operator} {
		if code, body, _ := get(t, h, "/healthz"); code != http.StatusOK || body["status"] != "ok" {
			t.Errorf("%s /healthz: %d %v", name, code, body)
		}
	}
	code, body, raw := get(t, shopper, "/readyz")
	if code != http.StatusServiceUnavailable || body["error"] != "unavailable" || body["message"] != "not ready" || len(body) != 2 {
		t.Errorf("shopper /readyz, Redis down: %d %s; want 503 {\"error\":\"unavailable\",\"message\":\"not ready\"}", code, raw)
	}
	if strings.Contains(raw, "10.1.2.3") || strings.Contains(raw, "redis") {
		t.Errorf("shopper /readyz tells the store's error: %s", raw)
	}
	if code, body, raw := get(t, shopper, "/metrics"); code != http.StatusNotFound || body["error"] != contract.ENotFound {
		t.Errorf("shopper /metrics: %d %s, want 404 not_found", code, raw)
	}
	if code, body, _ := get(t, operator, "/readyz"); code != http.StatusServiceUnavailable || body["message"] != "redis: "+secret {
		t.Errorf("operator /readyz, Redis down: %d %v; want the store and its error", code, body)
	}
	if code, _, raw := get(t, operator, "/metrics"); code != http.StatusOK || !strings.Contains(raw, "# TYPE") {
		t.Errorf("operator /metrics: %d %.200s", code, raw)
	}

	d.Stock = fakeStock{}
	shopper = newEngine(d.Log)
	shopperHealth(shopper, d)
	if code, body, _ := get(t, shopper, "/readyz"); code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("shopper /readyz, stores up: %d %v", code, body)
	}
}
