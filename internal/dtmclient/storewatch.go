package dtmclient

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/httpjson"
)

// StoreEpochRoute is where a dtm server started by this project (package
// dtmserver, cmd/dtm or the all-in-one process) tells its store's epoch,
// on its HTTP port beside dtm's API: a value that changes whenever the
// store may have lost writes it acknowledged. For a Redis store it is the
// run id of the process holding the store's slot (a restart or a failover
// changes it) and a marker kept in the store (a flush or a restore of older
// data removes it). dtm's own binary does not serve it.
const StoreEpochRoute = "/api/flashsale/store-epoch"

// StoreEpoch asks the dtm group at server (its API base) for its store's
// epoch.
func StoreEpoch(ctx context.Context, hc *http.Client, server string) (string, error) {
	var body struct {
		Epoch string `json:"epoch"`
	}
	base := strings.TrimSuffix(server, "/api/dtmsvr")
	if err := httpjson.Get(ctx, hc, base+StoreEpochRoute, &body); err != nil {
		return "", err
	}
	return body.Epoch, nil
}

// Fallback is the why of a repair that WatchStores runs only because its
// fallback period elapsed: no store is known to have lost anything since
// the last repair, so the repair may look only at what changed since then.
const Fallback = "fallback"

// FullPass reports whether a repair run for why must be a full one (a
// listing of dtm's whole store): for any reason but Fallback, with no full
// pass yet (last zero), or when the last one, started at last, is every
// old by now (every <= 0: always).
func FullPass(why string, last time.Time, every time.Duration, now time.Time) bool {
	return why != Fallback || every <= 0 || last.IsZero() || now.Sub(last) >= every
}

// WatchStores runs repair whenever a dtm group's store may have lost what
// it acknowledged, until ctx ends: once at the start (a loss while this
// process was down), each time a group's store epoch (StoreEpoch, asked
// every poll) differs from the one seen before, and every fallback in any
// case (a group whose server does not serve its epoch, a loss no epoch
// shows), with why Fallback. A repair that fails is tried again at the next poll. servers is
// the comma-separated list of groups (Groups).
func WatchStores(ctx context.Context, servers string, poll, fallback time.Duration, log *slog.Logger, repair func(ctx context.Context, why string) error) {
	if fallback <= 0 {
		fallback = time.Minute
	}
	hc := &http.Client{Timeout: RequestTimeout * time.Second}
	groups := ParseGroups(servers)
	seen := make([]string, len(groups))
	why, last := "start", time.Time{}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for i, g := range groups {
			epoch, err := StoreEpoch(ctx, hc, g)
			if err != nil || epoch == "" {
				continue // unreachable, or dtm's own binary: the fallback covers it
			}
			if seen[i] != "" && epoch != seen[i] {
				why = "the store of dtm group " + g + " changed"
				log.Warn("dtm's store changed: it may have lost acknowledged writes; repairing", "dtm", g, "was", seen[i], "now", epoch)
			}
			seen[i] = epoch
		}
		if why == "" && time.Since(last) >= fallback {
			why = Fallback
		}
		if why != "" {
			if err := repair(ctx, why); err != nil {
				if ctx.Err() == nil {
					log.Warn("repair of what dtm's store forgot failed; trying again", "why", why, "err", err)
				}
			} else {
				why, last = "", time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
