package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo answers the length of the body it read.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d", len(b))
})

// start runs ls until the test ends and returns their bound addresses.
func start(t *testing.T, ls ...Listener) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, time.Second, func(b map[string]string) { got <- b }, ls...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case b := <-got:
		return b
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return nil
}

func TestDefaults(t *testing.T) {
	srv := Listener{Handler: echo}.server()
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.ReadTimeout != DefaultReadTimeout ||
		srv.WriteTimeout != DefaultWriteTimeout || srv.IdleTimeout != DefaultIdleTimeout {
		t.Fatalf("zero Listener: %v %v %v %v, want the defaults", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	srv = Listener{Handler: echo, ReadTimeout: time.Second, WriteTimeout: -1, IdleTimeout: 3 * time.Second}.server()
	if srv.ReadTimeout != time.Second || srv.WriteTimeout != 0 || srv.IdleTimeout != 3*time.Second {
		t.Fatalf("set Listener: %v %v %v", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}

// TestMaxBody: a body over the bound, of a known length or chunked, is
// answered 413 too_large with the JSON error body, and never reaches the
// handler; one at the bound does, whole.
func TestMaxBody(t *testing.T) {
	const limit = 1000
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); echo(w, r) })
	addr := start(t, Listener{Name: "l", Addr: "127.0.0.1:0", Handler: h, MaxBody: limit})["l"]
	url := "http://" + addr + "/"
	for _, tc := range []struct {
		name    string
		n       int
		chunked bool
		code    int
	}{
		{"Empty", 0, false, 200}, {"AtLimit", limit, false, 200}, {"OverLimit", limit + 1, false, 413},
		{"ChunkedAtLimit", limit, true, 200}, {"ChunkedOverLimit", 3 * limit, true, 413},
		{"Huge", 8 << 20, false, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			var body io.Reader = strings.NewReader(strings.Repeat("x", tc.n))
			if tc.chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, url, body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("%d bytes: %d %s, want %d", tc.n, resp.StatusCode, raw, tc.code)
			}
			if tc.code == 200 {
				if string(raw) != fmt.Sprint(tc.n) || calls.Load() != 1 {
					t.Fatalf("%d bytes: the handler read %s (calls %d)", tc.n, raw, calls.Load())
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(raw, &e); err != nil || e["error"] != "too_large" || e["message"] == "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("413 body %q (%v), Content-Type %q; want {\"error\":\"too_large\",\"message\":...}", raw, err, resp.Header.Get("Content-Type"))
			}
			if calls.Load() != 0 {
				t.Fatalf("a body too large reached the handler")
			}
		})
	}
}

// TestDefaultMaxBody: a listener with no MaxBody set bounds bodies to 1 MiB.
func TestDefaultMaxBody(t *testing.T) {
	addr := start(t, Listener{Name: "l", Addr: "127.0.0.1:0", Handler: echo})["l"]
	for n, want := range map[int]int{DefaultMaxBody: 200, DefaultMaxBody + 1: 413} {
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(strings.Repeat("x", n)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%d bytes: %d, want %d", n, resp.StatusCode, want)
		}
	}
}

// TestSlowBodyCut: a client that sends its headers, then trickles its body,
// is cut off after ReadTimeout instead of holding the connection.
func TestSlowBodyCut(t *testing.T) {
	addr := start(t, Listener{Name: "l", Addr: "127.0.0.1:0", Handler: echo, ReadTimeout: 300 * time.Millisecond})["l"]
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("a body never finished was answered %s", resp.Status)
		}
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("the slow body held the connection %s", d)
	}
}

// TestWriteTimeout: a handler slower than WriteTimeout loses its answer
// (the connection closes), one within it is answered.
func TestWriteTimeout(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("sleep"))
		time.Sleep(d)
		io.WriteString(w, "done")
	})
	addr := start(t, Listener{Name: "l", Addr: "127.0.0.1:0", Handler: slow, WriteTimeout: 300 * time.Millisecond})["l"]
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/?sleep=10ms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fast handler: %s", resp.Status)
	}
	if resp, err := client.Get("http://" + addr + "/?sleep=600ms"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == "done" {
			t.Fatalf("a handler past WriteTimeout was answered")
		}
	}
}
