// Package dtmconf is the dtm server of this project: the settings it runs
// with (Server, its YAML config file), the dashboard it serves
// (ServeDashboard), its launcher in this process (dtmserver) and as its own
// process (cmd/dtm), all built from the github.com/dtm-labs/dtm module. The
// services, the reconciler, the tests and the scripts speak to dtm servers
// through package dtmclient, which also holds the timing their messages
// carry.
//
// The server polls for due transactions every second (TransCronInterval)
// instead of the default 3 s: with the messages' timing
// (dtmclient.MsgRetryInterval) a purchase whose flashsale process died
// between its local step and Submit is settled by the back-check in about
// ten seconds. Its RetryInterval stays at dtm's minimum of 10 s (the server
// refuses less; the messages set their own), and its RequestTimeout is the
// services' (dtmclient.RequestTimeout).
package dtmconf

import (
	"bytes"
	"fmt"
	"net"
	"strconv"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

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

// FinishedDataExpire is how long, in seconds, dtm's Redis store keeps a
// finished transaction: 7 days, where dtm's default is one. The services'
// repair (FLASHSALE_REPAIR_WINDOW, 24 h after an activity's end) takes a
// purchase whose message dtm no longer has for one the store forgot and
// sends it again: a transaction must outlive its sale by the window, or
// every purchase of a long sale would be sent again at each repair pass
// once a day had gone by (docs/architecture.md, "When a store forgets").
const FinishedDataExpire = 7 * 24 * 3600

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
	fmt.Fprintf(&b, "TransCronInterval: 1\nRetryInterval: 10\nTimeoutToFail: 10\nRequestTimeout: %d\n", dtmclient.RequestTimeout)
	fmt.Fprintf(&b, "LogLevel: %s\n", orDefault(s.LogLevel, "warn"))
	fmt.Fprintf(&b, "Store:\n  FinishedDataExpire: %d\n", FinishedDataExpire)
	fmt.Fprintf(&b, "  Driver: %s\n", s.Store.Driver)
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

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
