package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/flashsale/httpapi"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/gin-gonic/gin"
)

// deps are enough to build the routers: the handlers are never called.
func deps() httpapi.Deps {
	return httpapi.Deps{
		Purchases: struct{ httpapi.Purchaser }{}, Adjust: struct{ httpapi.Adjuster }{},
		Metrics: metrics.New(), Gates: &gate.Set{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestRoutesDocumented: each listener serves exactly the operations
// internal/api/openapi.yaml gives it, no route undocumented and no
// documented operation missing.
func TestRoutesDocumented(t *testing.T) {
	for listener, h := range map[string]http.Handler{
		apitest.Shopper:  httpapi.NewShopper(deps()),
		apitest.Admin:    httpapi.NewAdmin(deps()),
		apitest.Internal: httpapi.NewInternal(deps()),
	} {
		apitest.CheckRoutes(t, listener, apitest.GinRoutes(h.(*gin.Engine).Routes()))
	}
}

// TestOpenAPIServed: the admin listener serves the document, as JSON and
// as written.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(httpapi.NewAdmin(deps()))
	defer srv.Close()
	c := apitest.Client(t, srv.Client(), apitest.Listeners{srv.URL: apitest.Admin})
	for path, want := range map[string][]byte{"/openapi.json": api.SpecJSON(), "/openapi.yaml": api.SpecYAML()} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %d, %d bytes; want 200 and the document (%d bytes)", path, resp.StatusCode, len(got), len(want))
		}
	}
}
