package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, raw  string
		status     int
		keep       bool
		wantErr    bool
		restMarker string // what the reader must be positioned at afterwards
	}{
		{"ContentLength", "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"a\"}NEXT", 409, true, false, "NEXT"},
		{"ChunkedWithTrailer", "HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-T: 1\r\n\r\nNEXT", 202, true, false, "NEXT"},
		{"ConnectionClose", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, false, false, ""},
		{"HTTP10", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false, false, ""},
		{"HTTP10KeepAlive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokNEXT", 200, true, false, "NEXT"},
		{"NoContent", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, true, false, "NEXT"},
		{"UntilClose", "HTTP/1.1 200 OK\r\n\r\nbody to the end", 200, false, false, ""},
		{"Garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0, false, true, ""},
		{"BadStatus", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, true, ""},
		{"Truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.raw))
			status, keep, err := readResponse(br)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if status != tc.status || keep != tc.keep {
				t.Fatalf("status %d keep %v, want %d %v", status, keep, tc.status, tc.keep)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tc.restMarker {
				t.Fatalf("left %q unread, want %q", rest, tc.restMarker)
			}
		})
	}
}

func TestConnAgainstNetHTTP(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch k := n.Add(1); {
		case r.Header.Get("Authorization") != "Bearer tok" || string(body) != `{}`:
			w.WriteHeader(http.StatusBadRequest)
		case k%5 == 0:
			w.Header().Set("Connection", "close") // the client must redial
			w.WriteHeader(http.StatusConflict)
		case k%7 == 0:
			w.(http.Flusher).Flush() // chunked
			fmt.Fprint(w, strings.Repeat("x", 10000))
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"status":"pending"}`)
		}
	}))
	defer srv.Close()
	c := &conn{addr: srv.Listener.Addr().String(), src: net.ParseIP("127.0.0.7")}
	req := buildRequest("POST", c.addr, "/buy", "tok", "{}")
	counts := map[int]int{}
	for range 100 {
		st, err := c.roundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		counts[st]++
	}
	if counts[400] != 0 || counts[409] != 20 || counts[200] == 0 || counts[202] == 0 {
		t.Fatalf("statuses %v", counts)
	}
}
