package main

import (
	"net"
	"net/url"
	"testing"

	"github.com/flashsale/flashsale/internal/proc"
)

// TestEmbeddedListeningSockets reads what `go run .` listens on: the
// shopper, admin and internal listeners, the order service, dtm's HTTP
// API and the embedded Redis, all on loopback; dtm's gRPC port is the one
// socket on every interface (dtm binds it itself: see
// dtmconf.Server.HTTPHost).
func TestEmbeddedListeningSockets(t *testing.T) {
	s := newSale(t, t.TempDir())
	s.start()
	got, err := proc.Listening(s.proc.Pid())
	if err != nil {
		t.Fatal(err)
	}
	dtm, _ := url.Parse(s.dtm)
	wildcard, loopback, dtmHTTP := 0, 0, false
	for _, addr := range got {
		host, port, _ := net.SplitHostPort(addr)
		switch {
		case host == "127.0.0.1":
			loopback++
			dtmHTTP = dtmHTTP || port == dtm.Port()
		case host == "::" || host == "0.0.0.0":
			wildcard++
		default:
			t.Errorf("listens on %s", addr)
		}
	}
	// shopper, admin, internal, orders, dtm HTTP, embedded Redis.
	if loopback != 6 || wildcard != 1 || !dtmHTTP {
		t.Errorf("listens on %v: want 6 loopback sockets, dtm's HTTP API (%s) among them, and dtm's gRPC port alone on every interface", got, dtm.Host)
	}
}
