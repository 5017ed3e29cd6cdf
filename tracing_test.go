package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTraceCrossesDTM buys once in the embedded binary with an OTLP
// endpoint configured (a collector in this test) and finds the order
// service's createOrder span in the trace of flashsale's buy span, its
// child, although the call reached the order service from the dtm server:
// the trace context travels in the message's BranchHeaders.
func TestTraceCrossesDTM(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	s := newSale(t, t.TempDir(), "OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_BSP_SCHEDULE_DELAY=100")
	s.start()
	act := s.NewActivity(1)
	if code, e := s.Buy(act, "tina"); code != http.StatusAccepted {
		t.Fatalf("buy: %d %s", code, e)
	}
	s.Settle(act, 30*time.Second)

	var buy, create *tracepb.Span
	deadline := time.Now().Add(15 * time.Second)
	for (buy == nil || create == nil) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		buy = col.find("POST /api/v1/activities/:id/buy")
		create = col.find("POST /internal/orders/create")
	}
	if buy == nil || create == nil {
		t.Fatalf("spans exported: %v; want the buy's and createOrder's", col.names())
	}
	if !bytes.Equal(create.TraceId, buy.TraceId) || !bytes.Equal(create.ParentSpanId, buy.SpanId) {
		t.Fatalf("createOrder span: trace %s parent %s; want trace %s parent %s (the buy span)",
			hex.EncodeToString(create.TraceId), hex.EncodeToString(create.ParentSpanId), hex.EncodeToString(buy.TraceId), hex.EncodeToString(buy.SpanId))
	}
	for _, name := range []string{"dtm prepare", "redis lua take", "dtm submit"} {
		sp := col.find(name)
		if sp == nil || !bytes.Equal(sp.ParentSpanId, buy.SpanId) {
			t.Errorf("no %q span under the buy span (spans: %v)", name, col.names())
		}
	}
	t.Logf("trace %s: buy span %s -> (dtm server) -> createOrder span %s",
		hex.EncodeToString(buy.TraceId), hex.EncodeToString(buy.SpanId), hex.EncodeToString(create.SpanId))
}

// collector is an OTLP/HTTP trace receiver that keeps every span.
type collector struct {
	mu    sync.Mutex // mu guards spans
	spans []*tracepb.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Write(out)
}

func (c *collector) find(name string) *tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spans {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (c *collector) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.spans {
		out = append(out, s.Name)
	}
	return out
}
