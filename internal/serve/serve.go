// Package serve runs the services' HTTP listeners and stops them gracefully.
package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"golang.org/x/sync/errgroup"
)

// The defaults of a Listener's bounds, for each field left zero.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included:
	// the services' bodies are small JSON documents.
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds a request from the end of its headers to
	// the end of its answer, so it must exceed the listener's longest
	// handler: past it the connection is closed without an answer (the
	// handler still runs to its end). 30 s is above every handler of the
	// services, the slowest being a payment (flashsale waits up to 20 s,
	// ordersapi.Timeout).
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds a kept-alive connection between requests:
	// above the 90 s after which Go's transports drop idle connections,
	// so that a client rarely reuses one the server is closing.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxBody bounds a request's body.
	DefaultMaxBody = 1 << 20
)

// Listener is one HTTP listener of a service, with its bounds. A zero
// bound takes its default (Default*); a negative one turns it off.
type Listener struct {
	// Name names the listener in Run's bound addresses and its errors.
	Name string
	// Addr is the TCP address to listen on (port 0: any free port).
	Addr string
	// Handler answers the listener's requests.
	Handler http.Handler
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// http.Server's.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxBody bounds a request's body, in bytes: a larger one is answered
	// 413 {"error":"too_large"} before the handler runs.
	MaxBody int64
}

// server returns the http.Server of l.
func (l Listener) server() *http.Server {
	return &http.Server{
		Handler:           MaxBody(l.Handler, bound(l.MaxBody, DefaultMaxBody)),
		ReadHeaderTimeout: bound(l.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       bound(l.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      bound(l.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       bound(l.IdleTimeout, DefaultIdleTimeout),
	}
}

// bound is v, def when v is zero, and zero (no bound) when v is negative.
func bound[T time.Duration | int64](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// MaxBody returns h with request bodies bounded to limit bytes (none when
// limit <= 0). A body larger than limit is answered 413 with the JSON error
// body {"error":"too_large","message":...} and never reaches h: one whose
// Content-Length says so at once, one of unknown length (chunked) once
// limit+1 bytes of it are read; such a body is read into memory before h
// runs, so h sees it whole.
func MaxBody(h http.Handler, limit int64) http.Handler {
	if limit <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.ContentLength > limit:
			tooLarge(w, limit)
			return
		case r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody:
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				w.Header().Set("Connection", "close")
				contract.WriteError(w, contract.Errorf(contract.EBadRequest, "cannot read the body"))
				return
			}
			if int64(len(body)) > limit {
				tooLarge(w, limit)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		h.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	contract.WriteError(w, contract.Errorf(contract.ETooLarge, "the body is larger than %d bytes", limit))
}

// Run listens on every listener, calls ready with the bound addresses once
// all are listening, serves until ctx ends, then shuts down, giving in-flight
// requests up to grace to finish.
func Run(ctx context.Context, grace time.Duration, ready func(bound map[string]string), ls ...Listener) error {
	bound := map[string]string{}
	servers := make([]*http.Server, len(ls))
	lns := make([]net.Listener, len(ls))
	for i, l := range ls {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, prev := range lns[:i] {
				prev.Close()
			}
			return fmt.Errorf("%s listener: %w", l.Name, err)
		}
		lns[i] = ln
		bound[l.Name] = ln.Addr().String()
		servers[i] = l.server()
	}
	if ready != nil {
		ready(bound)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range servers {
		srv, ln := servers[i], lns[i]
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		defer cancel()
		var first error
		for _, srv := range servers {
			if err := srv.Shutdown(sctx); err != nil && first == nil {
				first = err
			}
		}
		return first
	})
	return g.Wait()
}
