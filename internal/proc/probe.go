package proc

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// A Probe tells whether a process is ready: it returns nil once it is, or
// why it is not yet. It gives up when ctx ends.
type Probe func(ctx context.Context) error

// probeTimeout bounds one call of a probe.
const probeTimeout = 2 * time.Second

// probeClient is the HTTP client of the HTTP probes: no connection kept
// between calls, so that a restarted process is asked afresh.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// HTTP is ready when a GET of url answers 200.
func HTTP(url string) Probe {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// TCP is ready when addr (HOST:PORT) accepts a connection.
func TCP(addr string) Probe {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// Redis is ready when the Redis server at addr answers PING with PONG
// (not while it loads its data, say).
func Redis(addr string) Probe {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		reply, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if reply = strings.TrimSpace(reply); reply != "+PONG" {
			return fmt.Errorf("redis at %s: PING: %s", addr, reply)
		}
		return nil
	}
}

// All is ready when every probe is, asked in order.
func All(probes ...Probe) Probe {
	return func(ctx context.Context) error {
		for _, p := range probes {
			if err := p(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
