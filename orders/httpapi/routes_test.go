package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/orders/httpapi"
	"github.com/flashsale/flashsale/orders/metrics"
	"github.com/gin-gonic/gin"
)

// TestRoutesDocumented: the order service serves exactly the operations
// internal/api/openapi.yaml gives it: its router's, and /metrics, which
// the metrics wrap in front of it answers.
func TestRoutesDocumented(t *testing.T) {
	h := httpapi.New(httpapi.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	served := apitest.GinRoutes(h.(*gin.Engine).Routes())

	rec := httptest.NewRecorder()
	metrics.New().Wrap(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code == http.StatusOK {
		served = append(served, "GET /metrics")
	}
	apitest.CheckRoutes(t, apitest.Orders, served)
}
