package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/purchase"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/tracing"
	"github.com/gin-gonic/gin"
)

// TestPassesTraceOnWithoutExporter: with no exporter configured nothing is
// recorded, but a caller's trace context still reaches the purchase
// message's branch headers, so the order service joins the caller's trace.
func TestPassesTraceOnWithoutExporter(t *testing.T) {
	stop, exporting, err := tracing.Setup(context.Background(), "test", func(string) string { return "" })
	if err != nil || exporting {
		t.Fatalf("Setup: exporting %v, err %v", exporting, err)
	}
	defer stop(context.Background())
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(tracing.Gin("test"))
	var headers map[string]string
	e.GET("/buy", func(c *gin.Context) {
		// The buy handler hands its *gin.Context on as the context.
		headers = purchase.BranchHeaders(context.WithoutCancel(c), time.Unix(1, 0))
	})

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, c := range []struct{ in, want string }{{parent, parent}, {"", ""}} {
		req := httptest.NewRequest(http.MethodGet, "/buy", nil)
		if c.in != "" {
			req.Header.Set("traceparent", c.in)
		}
		e.ServeHTTP(httptest.NewRecorder(), req)
		if got := headers["traceparent"]; got != c.want {
			t.Errorf("traceparent in %q: branch headers carry %q, want %q", c.in, got, c.want)
		}
		if headers[contract.PreparedAtHeader] != "1970-01-01T00:00:01Z" {
			t.Errorf("prepared-at header %q", headers[contract.PreparedAtHeader])
		}
	}
}
