package rediscache

import (
	"context"
	"fmt"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// returnScript is the branch of a cancellation message, and of an admin's
// addition of units: dtm's Redis barrier for a branch's action
// (RedisCheckAdjustAmount with +n) on one activity's keys. The unit goes back to the stock only when the barrier was absent, so
// a redelivered branch returns nothing more.
//
// KEYS[1] barrier key, KEYS[2] stock key; ARGV[1] the barrier's TTL in
// seconds, ARGV[2] the units to add (1 for a cancellation).
//
// The barrier is checked before the stock, unlike dtmcli's script: a
// missing counter is re-derived by package restock, which marks the
// barriers of the units it counted as returned, so a delivery after that
// must find DUPLICATE. A missing counter with the barrier absent is an
// error (dtm retries the branch): an INCR would make a counter of 1.
//
// KEYS[3] is the epoch key: a stale counter (epoch.go) answers STALE and
// returns nothing, and dtm retries the branch. Returning the unit anyway
// could lose it: a re-derivation under way may have read this order as
// live before its cancellation, and its Restore would overwrite the INCR
// while keeping the barrier this call set. Refused, the unit comes back
// after the Restore, onto a counter that did not count it (or finds the
// barrier the Restore marked, when the re-derivation read the order as
// cancelled).
var returnScript = redis.NewScript(runIDLua + addUnitsLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'DUPLICATE'
end
return addunits('op', ARGV[1], ARGV[2])
`)

// addUnitsLua defines addunits(state, ttl, n), the end of the scripts that
// put units back in a shard (a return, an addition, a compensation): on
// KEYS[1] barrier, KEYS[2] stock, KEYS[3] epoch, it refuses a missing
// counter (NOSTOCK) or a stale one (STALE), else sets the barrier to state
// and adds n units, and answers OK.
const addUnitsLua = `
local function addunits(state, ttl, n)
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return 'NOSTOCK'
  end
  if redis.call('GET', KEYS[3]) ~= runid() then
    return 'STALE'
  end
  redis.call('SET', KEYS[1], state, 'EX', ttl)
  redis.call('INCRBY', KEYS[2], n)
  return 'OK'
end
`

// ReturnUnit runs the branch of a cancellation message: it puts one unit
// back in the stock of the cancellation's home shard unless the barrier
// named barrier is already set. It reports whether this call returned the unit, and returns an
// Error EUnavailable when the stock counter is missing.
func (s *Stock) ReturnUnit(ctx context.Context, activityID int64, barrier string) (bool, error) {
	return s.AddUnits(ctx, activityID, barrier, 1)
}

// AddUnits puts n units in the stock of the message's home shard unless
// the barrier named barrier is already set: the branch of a cancellation
// (one unit) or of an admin's addition of units. Any shard will do: a
// purchase walks on to the shards holding units. It reports whether this
// call added them.
func (s *Stock) AddUnits(ctx context.Context, activityID int64, barrier string, n int) (bool, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return false, err
	}
	home := l.Home(contract.BarrierGID(barrier))
	keys := []string{contract.BarrierKey(activityID, home, barrier), contract.StockKey(activityID, home), contract.EpochKey(activityID, home)}
	res, err := returnScript.Run(ctx, s.rdb, keys, s.barrierTTL, n).Text()
	if err != nil {
		return false, fmt.Errorf("return script: %w", err)
	}
	switch res {
	case "OK":
		return true, nil
	case "DUPLICATE":
		return false, nil
	case "NOSTOCK":
		return false, contract.Errorf(contract.EUnavailable, "activity %d has no stock counter in Redis", activityID)
	case "STALE":
		return false, flashsale.ErrStale
	}
	return false, fmt.Errorf("return script answered %q", res)
}
