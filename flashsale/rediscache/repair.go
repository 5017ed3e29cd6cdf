package rediscache

import (
	"context"
	"fmt"
	"strings"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

// Taken returns the gids of the activity's messages whose local step took
// units and still holds them: purchases and removals of units whose
// barrier "<gid>-00-msg-01" is "op" in some shard (a walk's links are not
// units; a compensated step reads "rollback").
func (s *Stock) Taken(ctx context.Context, activityID int64) ([]string, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return nil, err
	}
	var gids []string
	suffix := contract.MsgBarrier("")
	for shard := range max(l.N, 1) {
		prefix := contract.BarrierKey(activityID, shard, "")
		err := redisconn.ScanValues(ctx, s.rdb, prefix, func(key, v string) {
			if gid, ok := strings.CutSuffix(strings.TrimPrefix(key, prefix), suffix); ok && v == contract.BarrierTaken {
				gids = append(gids, gid)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return gids, nil
}

// compensateScript undoes a local step that took n units for a message
// dtm failed: the barrier goes from "op" to "rollback" and the units back
// to the shard's counter, in one call, so they come back at most once
// however often it runs. Like the return of a cancelled unit it refuses a
// stale counter (a re-derivation under way counts the units as held, see
// return.go), and follows a walk's link.
//
// KEYS[1] barrier, KEYS[2] stock, KEYS[3] epoch; ARGV[1] units, ARGV[2]
// the barrier's TTL.
var compensateScript = redis.NewScript(runIDLua + addUnitsLua + `
local v = redis.call('GET', KEYS[1])
if not v then
  return 'ABSENT'
end
if string.sub(v, 1, 5) == 'next:' then
  return 'NEXT:' .. string.sub(v, 6)
end
if v ~= 'op' then
  return 'DONE'
end
return addunits('rollback', ARGV[2], ARGV[1])
`)

// Compensate puts back the n units the local step of a failed message
// took (a purchase, n = 1, or a removal) and closes its barrier with
// "rollback". It reports whether this call put them back: false when the
// barrier does not hold units (never taken, or compensated before). It
// returns flashsale.ErrStale while the counter must be re-derived first.
func (s *Stock) Compensate(ctx context.Context, activityID int64, barrier string, n int) (bool, error) {
	res, err := s.follow(ctx, activityID, barrier, func(at int) (string, error) {
		keys := []string{contract.BarrierKey(activityID, at, barrier), contract.StockKey(activityID, at), contract.EpochKey(activityID, at)}
		res, err := compensateScript.Run(ctx, s.rdb, keys, n, s.barrierTTL).Text()
		if err != nil {
			return "", fmt.Errorf("compensate script: %w", err)
		}
		if k, ok := strings.CutPrefix(res, "NEXT:"); ok {
			return contract.BarrierNext + k, nil
		}
		return res, nil
	})
	switch {
	case err != nil:
		return false, err
	case res == "OK":
		return true, nil
	case res == "ABSENT" || res == "DONE":
		return false, nil
	case res == "STALE" || res == "NOSTOCK":
		return false, flashsale.ErrStale
	}
	return false, fmt.Errorf("compensate script answered %q", res)
}
