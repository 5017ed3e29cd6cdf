// Package dtmconf holds the dtm server settings this project relies on and
// starts a dtm server built from the github.com/dtm-labs/dtm module, either in
// this process (the embedded mode) or as its own process (cmd/dtm).
//
// The settings are chosen so that a purchase whose flashsale process died
// between the Lua step and Submit is settled by the back-check in about ten
// seconds:
//
//   - every purchase message carries TimeoutToFail = MsgTimeoutToFail (8 s)
//     and RetryInterval = MsgRetryInterval (9 s). dtm schedules a message's
//     first cron visit at creation + RetryInterval, stored in whole seconds
//     (rounded down), and back-checks only when TimeoutToFail has passed:
//     one second between the two makes the first visit always find the
//     message timed out, so the back-check fires 8-10 s after Prepare (with
//     equal values a visit can come a fraction early and the next is 10 s
//     later);
//   - the server polls for due transactions every TransCronInterval (1 s)
//     instead of the default 3 s;
//   - RetryInterval stays at dtm's minimum of 10 s (the server refuses less);
//     failed branch calls back off from the message's interval (18, 36 s...),
//     and ResetCronTime on the dtm admin API hurries them after an outage
//     (the services call it each time their stores are ready again:
//     HurryWhenReady).
package dtmconf

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// MsgTimeoutToFail is the TimeoutToFail, in seconds, set on every purchase
// message: a message still prepared this long after creation is settled by
// the back-check.
const MsgTimeoutToFail = 8

// MsgRetryInterval is the RetryInterval, in seconds, set on every purchase
// message: the delay of dtm's first look at it (see the package comment).
const MsgRetryInterval = MsgTimeoutToFail + 1

// HurryAfter is the timeout, in seconds, of the resetCronTime call the
// services make when they are ready again (HurryRetries: dtm retries at
// once every transaction due more than this long from now): above
// MsgRetryInterval, so that a message still prepared, due at most
// MsgRetryInterval after its creation, keeps its back-check schedule.
const HurryAfter = MsgRetryInterval + 1

// RequestTimeout is the timeout, in seconds, of every call between a service
// and the dtm server, in both directions.
const RequestTimeout = 3

// Store names where the dtm server keeps its transactions.
type Store struct {
	// Driver is "redis" (services mode) or "boltdb" (embedded mode).
	Driver string
	// Host and Port address the Redis server of the redis driver.
	Host string
	Port int
	// Password of the Redis server, if any.
	Password string
	// RedisPrefix tags every dtm key so that it lives in one cluster slot.
	RedisPrefix string
}

// Server is the configuration of one dtm server.
type Server struct {
	// HTTPHost is the address dtm's HTTP API binds: 127.0.0.1 by default,
	// so that only this machine reaches it; a private address the services
	// reach from other hosts, or "0.0.0.0" inside a private container
	// network (DTM_HTTP_HOST). Its gRPC port binds every interface
	// whatever this says: dtm binds it itself and exits when it cannot
	// (dtmserver.Start). The services never use it: keep it off the
	// network (docker-compose does not publish it).
	HTTPHost string
	HTTPPort int
	GRPCPort int
	Store    Store
	// LogLevel is dtm's: debug, info, warn or error.
	LogLevel string
}

// DefaultServer returns the services-mode configuration: dtm on its usual
// ports with its transactions in the Redis at 127.0.0.1:6379.
func DefaultServer() Server {
	return Server{
		HTTPHost: "127.0.0.1",
		HTTPPort: 36789,
		GRPCPort: 36790,
		Store:    Store{Driver: "redis", Host: "127.0.0.1", Port: 6379, RedisPrefix: "{dtm}"},
		LogLevel: "warn",
	}
}

// YAML renders the configuration in the dtm server's own config file format.
func (s Server) YAML() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# dtm server configuration written by dtmconf; see dtmconf.go for why.\n")
	fmt.Fprintf(&b, "HttpPort: %d\nGrpcPort: %d\n", s.HTTPPort, s.GRPCPort)
	fmt.Fprintf(&b, "TransCronInterval: 1\nRetryInterval: 10\nTimeoutToFail: 10\nRequestTimeout: %d\n", RequestTimeout)
	fmt.Fprintf(&b, "LogLevel: %s\n", orDefault(s.LogLevel, "warn"))
	fmt.Fprintf(&b, "Store:\n  Driver: %s\n", s.Store.Driver)
	if s.Store.Driver == "redis" {
		fmt.Fprintf(&b, "  Host: %s\n  Port: %d\n", s.Store.Host, s.Store.Port)
		if s.Store.Password != "" {
			fmt.Fprintf(&b, "  Password: %s\n", strconv.Quote(s.Store.Password))
		}
		fmt.Fprintf(&b, "  RedisPrefix: %s\n", strconv.Quote(orDefault(s.Store.RedisPrefix, "{dtm}")))
	}
	return b.Bytes()
}

// URL returns the base URL of the server's HTTP API as dtm clients use it.
func (s Server) URL(host string) string {
	return fmt.Sprintf("http://%s/api/dtmsvr", net.JoinHostPort(host, strconv.Itoa(s.HTTPPort)))
}

// PooledTransport returns an HTTP transport whose idle pool is large enough
// for a flash-sale burst. dtm's resty clients keep GOMAXPROCS+1 idle
// connections per host, so under load most calls would open a new TCP
// connection; every client on the purchase path uses this transport instead.
func PooledTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
