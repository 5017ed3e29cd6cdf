package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/proc"
)

func TestRunLoadTotal(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var inFlight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		if strings.HasSuffix(r.Header.Get("Authorization"), "0") {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusConflict)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	tokens := []string{"t0", "t1", "t2", "t3"}
	res, err := runLoad(context.Background(), Load{
		Name: "total", Addr: addr, Requests: buyRequests(addr, 7, tokens, nil),
		Total: 1000, Conns: 8, SrcIPs: 4, Winner: http.StatusAccepted, Procs: procSet{},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Request i is Requests[i % 4]: each token exactly a quarter of the time.
	for _, tok := range tokens {
		if seen["Bearer "+tok] != 250 {
			t.Errorf("token %s sent %d times, want 250", tok, seen["Bearer "+tok])
		}
	}
	if res.Requests != 1000 || res.Count(202) != 250 || res.Count(409) != 750 || res.Status["error"] != 0 {
		t.Fatalf("requests %d, statuses %v", res.Requests, res.Status)
	}
	if res.Winners == nil || res.Winners.Count != 250 || res.Latency.Count != 1000 {
		t.Fatalf("latency counts %+v / %+v", res.Latency, res.Winners)
	}
	if res.Latency.P50 < 1 {
		t.Errorf("p50 %.3f ms below the handler's 1 ms sleep", res.Latency.P50)
	}
	if m := most.Load(); m > 8 {
		t.Errorf("%d requests in flight at once over 8 connections", m)
	}
	if len(res.CPU) == 0 || res.CPU[0].Name != "generator" {
		t.Errorf("no generator CPU in %v", res.CPU)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func TestRunLoadDurationAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			// Drop the connection without an answer: a transport error.
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	start := time.Now()
	res, err := runLoad(context.Background(), Load{
		Name: "duration", Addr: addr, Requests: [][]byte{buildRequest("GET", addr, "/", "", "")},
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Conns: 4, Procs: procSet{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond || el > 5*time.Second {
		t.Errorf("took %s for a 100 ms warm-up and a 300 ms run", el)
	}
	if res.Seconds < 0.3 || res.Seconds > 2 {
		t.Errorf("measured %.2f s", res.Seconds)
	}
	errs, ok := res.Status["error"], res.Count(200)
	if errs == 0 || ok == 0 || errs+ok != res.Requests {
		t.Fatalf("statuses %v of %d requests", res.Status, res.Requests)
	}
	// The warm-up's requests are not in the result.
	if total := n.Load(); total <= res.Requests {
		t.Errorf("server saw %d requests, result %d: warm-up missing?", total, res.Requests)
	}
}

func TestRunLoadDownTarget(t *testing.T) {
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = runLoad(context.Background(), Load{Name: "down", Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Requests: [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n")}, Total: 10, Conns: 2})
	if err == nil {
		t.Fatal("no error for a target that refuses connections")
	}
}

func TestHTTPSecrets(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/activities/1/secret", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"secret":"s-%s"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	})
	mux.HandleFunc("GET /api/v1/activities/3/secret", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux) // activity 2 has no secret route: 404
	defer srv.Close()
	h := httpSecrets{shop: api.New(srv.URL, srv.Client()), conns: 3}
	ctx := context.Background()
	tokens := []string{"a", "b", "c", "d", "e"}

	bodies, err := h.Bodies(ctx, 1, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range tokens {
		if want := `{"secret":"s-` + tok + `"}`; bodies[i] != want {
			t.Errorf("body %d = %q, want %q", i, bodies[i], want)
		}
	}
	if bodies, err := h.Bodies(ctx, 2, tokens); err != nil || bodies != nil {
		t.Errorf("no endpoint: bodies %v err %v, want nil nil", bodies, err)
	}
	if _, err := h.Bodies(ctx, 3, tokens); err == nil {
		t.Error("no error for a failing endpoint")
	}
}
