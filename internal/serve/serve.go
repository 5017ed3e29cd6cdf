// Package serve runs the services' HTTP listeners and stops them gracefully.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

// Listener is one HTTP listener of a service.
type Listener struct {
	Name    string
	Addr    string
	Handler http.Handler
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
		servers[i] = &http.Server{Handler: l.Handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
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
