package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleWrk is wrk 4.1's report with --latency and the script's lines.
const sampleWrk = `Running 5s test @ http://127.0.0.1:40123/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   110.52ms   40.31ms    1.02s    81.33%
    Req/Sec   290.15     60.02   410.00     70.00%
  Latency Distribution
     50%  104.20ms
     75%  130.00ms
     90%  160.50ms
     99%    1.01s
  2861 requests in 5.01s, 402.33KB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 11
Requests/sec:    571.05
Transfer/sec:     80.31KB
wrk-status 409 11
wrk-status 202 2850
`

func TestParseWrk(t *testing.T) {
	o, err := parseWrk(sampleWrk)
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 2861 || o.Seconds != 5.01 || o.RPS != 571.05 {
		t.Errorf("requests %d in %v s at %v/s, want 2861 in 5.01 s at 571.05/s", o.Requests, o.Seconds, o.RPS)
	}
	want := Latency{Count: 2861, P50: 104.2, P90: 160.5, P99: 1010, Max: 1020, Mean: 110.52}
	if o.Latency != want {
		t.Errorf("latency %+v, want %+v", o.Latency, want)
	}
	if got := answers(o.Status); got != "202:2850 409:11 error:3" {
		t.Errorf("statuses %q, want 202:2850 409:11 error:3", got)
	}
	if o.SocketErrors != 3 {
		t.Errorf("socket errors %d, want 3", o.SocketErrors)
	}

	us := strings.NewReplacer("104.20ms", "830.00us", "1.01s", "2.50ms").Replace(sampleWrk)
	if o, err = parseWrk(us); err != nil || o.Latency.P50 != 0.83 || o.Latency.P99 != 2.5 {
		t.Errorf("microseconds: p50 %v p99 %v (%v), want 0.83 and 2.5", o.Latency.P50, o.Latency.P99, err)
	}
	for _, cut := range []string{"Requests/sec", "Latency Distribution", "requests in"} {
		var kept []string
		for _, l := range strings.Split(sampleWrk, "\n") {
			if !strings.Contains(l, cut) && !(cut == "Latency Distribution" && strings.Contains(l, "%  ")) {
				kept = append(kept, l)
			}
		}
		if _, err := parseWrk(strings.Join(kept, "\n")); err == nil {
			t.Errorf("output without %q parsed", cut)
		}
	}
}

func TestParseWrkTime(t *testing.T) {
	for s, want := range map[string]time.Duration{"631.08us": 631080 * time.Nanosecond, "1.50ms": 1500 * time.Microsecond,
		"2.00s": 2 * time.Second, "1.10m": 66 * time.Second} {
		if got, err := parseWrkTime(s); err != nil || got != want {
			t.Errorf("parseWrkTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"12", "ms", "1.0xs"} {
		if _, err := parseWrkTime(s); err == nil {
			t.Errorf("parseWrkTime(%q) succeeded", s)
		}
	}
}

func TestWrkRequestFile(t *testing.T) {
	reqs := [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), []byte("POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")}
	got := string(wrkRequestFile(reqs, 2))
	want := "18\nGET / HTTP/1.1\r\n\r\n41\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
	if got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	// Fewer requests than threads: repeated, so that every thread has one.
	if got := string(wrkRequestFile(reqs[:1], 3)); got != strings.Repeat("18\nGET / HTTP/1.1\r\n\r\n", 3) {
		t.Errorf("one request, three threads: %q", got)
	}
	args := strings.Join(wrkArgs(wrkLoad{Addr: "127.0.0.1:9", Conns: 64, Duration: 1500 * time.Millisecond}, "s.lua", "r.req"), " ")
	if want := fmt.Sprintf("-t %d -c 64 -d 2s --latency --timeout 60s -s s.lua http://127.0.0.1:9/ -- r.req %d", wrkThreads(64), wrkThreads(64)); args != want {
		t.Errorf("args %q, want %q", args, want)
	}
}

func TestForwardedFor(t *testing.T) {
	reqs := buyRequests("h:1", 7, []string{"t0", "t1", "t2"}, nil)
	out := forwardedFor(reqs, 2)
	for i, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2"} {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out[i])))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header.Get("X-Forwarded-For"); got != want || r.Header.Get("Authorization") != "Bearer t"+fmt.Sprint(i) {
			t.Errorf("request %d: X-Forwarded-For %q (want %q), Authorization %q", i, got, want, r.Header.Get("Authorization"))
		}
	}
	if !bytes.Equal(forwardedFor(reqs, 0)[1], reqs[1]) {
		t.Error("-src-ips 0 changed the requests")
	}
}

// TestWrkScript runs wrk, when it is on PATH, with the script against a
// server that answers 202 to even users and 409 to odd ones: every user
// is sent, each thread its own, and the script's counts are wrk's.
func TestWrkScript(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not on PATH")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer u")
		mu.Lock()
		seen[user]++
		mu.Unlock()
		var n int
		fmt.Sscan(user, &n)
		if n%2 == 0 {
			w.WriteHeader(http.StatusAccepted)
		} else {
			w.WriteHeader(http.StatusConflict)
		}
	}))
	defer srv.Close()
	tokens := make([]string, 40)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("u%d", i)
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	l := wrkLoad{Name: "t @4", Addr: addr, Requests: buyRequests(addr, 1, tokens, nil), Conns: 4, Duration: time.Second, Dir: t.TempDir()}
	out, cpu, err := runWrk(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("wrk's CPU %v", cpu)
	}
	won, lost := out.Status["202"], out.Status["409"]
	if won+lost != out.Requests || won == 0 || lost == 0 || len(out.Status) != 2 {
		t.Errorf("statuses %v for %d requests", out.Status, out.Requests)
	}
	if out.Requests < 40 || out.Latency.P50 <= 0 || out.Latency.P99 < out.Latency.P50 {
		t.Errorf("%d requests, latency %+v", out.Requests, out.Latency)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(tokens) {
		t.Errorf("%d users sent, want %d", len(seen), len(tokens))
	}
}
