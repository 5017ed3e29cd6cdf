// Package dtmclient is the one place the services, the reconciler, the
// tests and the scripts speak to dtm servers. It builds the project's
// two-phase messages (NewMsg), routes a gid to the dtm group that holds it
// (Groups), asks a message's status and lists messages (MessageStatus,
// ListMessages), hurries the retries dtm backed off (HurryRetries) and
// watches the groups' stores for lost writes (WatchStores). The dtm server
// itself, its settings and its launcher, are package dtmconf's.
//
// A message's status is dtm's: one of dtmcli's Status constants
// (dtmcli.StatusPrepared, StatusSubmitted, StatusSucceed, StatusFailed,
// StatusAborting), or NoMessage when no group has the gid.
//
// The timing below makes a purchase whose flashsale process died between
// its local step and Submit settle by the back-check in about ten seconds:
//
//   - every message carries TimeoutToFail = MsgTimeoutToFail (8 s) and
//     RetryInterval = MsgRetryInterval (9 s). dtm schedules a message's
//     first cron visit at creation + RetryInterval, stored in whole seconds
//     (rounded down), and back-checks only when TimeoutToFail has passed:
//     one second between the two makes the first visit always find the
//     message timed out, so the back-check fires 8-10 s after Prepare (with
//     equal values a visit can come a fraction early and the next is 10 s
//     later), the server polling for due transactions every second
//     (dtmconf);
//   - failed branch calls back off from the message's interval (18, 36 s...),
//     and the services hurry them each time their stores are ready again
//     (HurryWhenReady).
package dtmclient

import (
	"net"
	"net/http"
	"time"
)

// MsgTimeoutToFail is the TimeoutToFail, in seconds, set on every message:
// a message still prepared this long after creation is settled by the
// back-check.
const MsgTimeoutToFail = 8

// MsgRetryInterval is the RetryInterval, in seconds, set on every message:
// the delay of dtm's first look at it (see the package comment).
const MsgRetryInterval = MsgTimeoutToFail + 1

// HurryAfter is the timeout, in seconds, of the resetCronTime call the
// services make when they are ready again (HurryRetries: dtm retries at
// once every transaction due more than this long from now): above
// MsgRetryInterval, so that a message still prepared, due at most
// MsgRetryInterval after its creation, keeps its back-check schedule.
const HurryAfter = MsgRetryInterval + 1

// RequestTimeout is the timeout, in seconds, of every call between a service
// and the dtm server, in both directions: the messages carry it, and the
// dtm server is configured with it (dtmconf).
const RequestTimeout = 3

// PooledTransport returns an HTTP transport whose idle pool is large enough
// for a flash-sale burst. dtm's resty clients keep GOMAXPROCS+1 idle
// connections per host, so under load most calls would open a new TCP
// connection; every client on the purchase path uses this transport
// instead, and so do the dtm server's own clients (dtmserver).
func PooledTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
}
