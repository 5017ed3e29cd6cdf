package rediscache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sabotage"
	"github.com/redis/go-redis/v9"
)

// takeScript is the local step of a purchase message in one shard, dtm's
// Redis barrier (RedisCheckAdjustAmount) for a msg's DoAndSubmit.
//
// KEYS[1] barrier key, KEYS[2] stock key; ARGV[1] amount to add (-1 takes a
// unit; an admin's removal of units takes more), ARGV[2] the barrier's TTL
// in seconds, ARGV[3] the shard to go on to when this one is short (” for
// none: the last shard of the walk, or a sale of one shard), ARGV[4] '1'
// when the activity has several shards.
//
// The barrier is checked before the stock, unlike dtmcli's script: a
// concurrent duplicate of a purchase that took the last unit must see
// DUPLICATE, not FAILURE, or DoAndSubmit would abort the gid both attempts
// share and the first attempt's unit would never become an order.
// A barrier closed by the back-check answers ROLLEDBACK (dtmcli says
// DUPLICATE; the outcome, an aborted message, is the same). A barrier that
// links on to another shard ("next:<k>", left by an earlier attempt of the
// same message that found this shard empty) answers NEXT:<k>: the walk
// goes on there (shards.go).
//
// KEYS[3] is the epoch key: a counter set under another Redis process
// answers STALE and takes nothing until it is re-derived (epoch.go). The
// check comes after the missing-counter check, which keeps dtmcli's
// FAILURE for a counter that does not exist in a sale of one shard; in a
// sale of several a missing counter is STALE, never a reason to move on
// nor to answer sold out.
//
// A shard short of the amount, with ARGV[3] given, links its barrier to
// that shard and answers NEXT:<k>, atomically with finding it short.
//
// KEYS[4], given for purchases only, is the shard's closed marker, set
// when an admin cancels the activity: from then on no purchase takes a
// unit, on any instance, whatever its cached copy of the activity says.
var takeScript = newHotScript("fs_take", sabotage.TakeScript(`
local b = redis.call('GET', KEYS[1])
if b == 'rollback' then
  return 'ROLLEDBACK'
end
if b and string.sub(b, 1, 5) == 'next:' then
  return 'NEXT:' .. string.sub(b, 6)
end
if b then
  return 'DUPLICATE'
end
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then
  return 'CLOSED'
end
local s = redis.call('GET', KEYS[2])
if not s then
  if ARGV[4] == '1' then
    return 'STALE'
  end
  return 'FAILURE'
end
if redis.call('GET', KEYS[3]) ~= runid() then
  return 'STALE'
end
if tonumber(s) + tonumber(ARGV[1]) < 0 then
  if ARGV[3] ~= '' then
    redis.call('SET', KEYS[1], 'next:' .. ARGV[3], 'EX', ARGV[2])
    return 'NEXT:' .. ARGV[3]
  end
  return 'FAILURE'
end
redis.call('SET', KEYS[1], 'op', 'EX', ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
return 'OK'
`)) // sabotage: in test builds only, may drop the barrier check

// queryScript is the back-check (dtm's RedisQueryPrepared) in one shard: a
// barrier still absent is closed with 'rollback' so that a late local step
// cannot commit; a link answers NEXT:<k>, where the back-check goes on.
// KEYS[1] barrier key; ARGV[1] the barrier's TTL in seconds.
var queryScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'rollback', 'EX', ARGV[1])
  return 'FAILURE'
end
if v == 'rollback' then
  return 'FAILURE'
end
if string.sub(v, 1, 5) == 'next:' then
  return 'NEXT:' .. string.sub(v, 6)
end
return 'OK'
`)

// Stock implements flashsale.Stock on a Redis server or cluster.
type Stock struct {
	rdb        redis.UniversalClient
	hot        *hotRunner // the buy path's scripts (library.go)
	barrierTTL int
	shardsOf   ShardCounter
	layouts    sync.Map // activity id -> its number of shards, once known
}

// ShardCounter returns the number of stock shards of an activity (the
// catalog's Activity.Shards). It is asked once per activity and process:
// an activity's shards never change.
type ShardCounter func(ctx context.Context, activityID int64) (int, error)

// OneShard is the ShardCounter of a store whose activities all have one
// shard (tools and tests).
func OneShard(context.Context, int64) (int, error) { return 1, nil }

// hotScripts is the function library of the scripts every buy runs.
var hotScripts = newHotLibrary([]string{windowsLua}, checkBuyScript, takeScript, remainingScript)

// DefaultBarrierTTL keeps barriers as long as the dtm server keeps
// transactions (its DataExpire, 7 days).
const DefaultBarrierTTL = 7 * 24 * time.Hour

// NewStock returns a Stock on rdb whose barrier keys expire after ttl and
// which learns each activity's shards from shards.
func NewStock(rdb redis.UniversalClient, ttl time.Duration, shards ShardCounter) *Stock {
	return &Stock{rdb: rdb, hot: newHotRunner(hotScripts, rdb), barrierTTL: int(ttl / time.Second), shardsOf: shards}
}

var _ flashsale.Stock = (*Stock)(nil)

// layout returns the activity's shards.
func (s *Stock) layout(ctx context.Context, activityID int64) (contract.Shards, error) {
	if n, ok := s.layouts.Load(activityID); ok {
		return contract.Shards{Activity: activityID, N: n.(int)}, nil
	}
	n, err := s.shardsOf(ctx, activityID)
	if err != nil {
		return contract.Shards{}, fmt.Errorf("activity %d's shards: %w", activityID, err)
	}
	if n < 1 || n > contract.MaxShards {
		return contract.Shards{}, fmt.Errorf("activity %d has %d shards", activityID, n)
	}
	s.layouts.Store(activityID, n)
	return contract.Shards{Activity: activityID, N: n}, nil
}

// preheatScript sets one shard's stock counter and its epoch.
// KEYS[1] stock key, KEYS[2] epoch key; ARGV[1] units.
var preheatScript = redis.NewScript(runIDLua + `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], runid())
return 'OK'
`)

// Preheat splits units evenly over the activity's shards, each counter
// fresh under the running Redis process.
func (s *Stock) Preheat(ctx context.Context, activityID int64, shards, units int) error {
	if shards < 1 || shards > contract.MaxShards {
		return fmt.Errorf("activity %d: %d shards", activityID, shards)
	}
	s.layouts.Store(activityID, shards)
	l := contract.Shards{Activity: activityID, N: shards}
	for i := range shards {
		keys := []string{contract.StockKey(activityID, i), contract.EpochKey(activityID, i)}
		if err := preheatScript.Run(ctx, s.rdb, keys, l.Share(int64(units), i)).Err(); err != nil {
			return err
		}
	}
	return nil
}

// remainingScript reads one shard's stock counter, or nil when it is
// missing or stale. KEYS[1] stock key, KEYS[2] epoch key.
var remainingScript = newHotScript("fs_remaining", `
local s = redis.call('GET', KEYS[1])
if not s or redis.call('GET', KEYS[2]) ~= runid() then
  return false
end
return s
`)

// shard reads one shard's counter; ok is false when it is missing or
// stale.
func (s *Stock) shard(ctx context.Context, activityID int64, i int) (int64, bool, error) {
	n, err := s.hot.run(ctx, remainingScript, []string{contract.StockKey(activityID, i), contract.EpochKey(activityID, i)}).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// Shares reads the counter of every shard of the activity.
func (s *Stock) Shares(ctx context.Context, activityID int64) ([]flashsale.ShardStock, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return nil, err
	}
	out := make([]flashsale.ShardStock, l.N)
	for i := range out {
		n, ok, err := s.shard(ctx, activityID, i)
		if err != nil {
			return nil, err
		}
		out[i] = flashsale.ShardStock{Index: i, Units: n, Loaded: ok}
	}
	return out, nil
}

// Remaining returns the sum of the activity's shards; ok is false when a
// counter is missing or stale (set under another Redis process, so it must
// be re-derived: epoch.go).
func (s *Stock) Remaining(ctx context.Context, activityID int64) (int64, bool, error) {
	if n, ok := s.layouts.Load(activityID); ok && n.(int) == 1 {
		return s.shard(ctx, activityID, 0) // the sold-out poll's common case, one call
	}
	shares, err := s.Shares(ctx, activityID)
	if err != nil {
		return 0, false, err
	}
	var sum int64
	for _, sh := range shares {
		if !sh.Loaded {
			return 0, false, nil
		}
		sum += sh.Units
	}
	return sum, true, nil
}

// Take runs the local step of a purchase message: one unit, from the
// message's home shard or, when it is empty, the next shard holding one,
// unless the activity is closed (ErrClosed).
func (s *Stock) Take(ctx context.Context, activityID int64, barrier string) error {
	return s.walk(ctx, activityID, barrier, 1, true)
}

// TakeUnits runs the local step of an admin's removal of n unsold units:
// all n from one shard, or none (ErrNotEnoughUnits), closed activity or
// not.
func (s *Stock) TakeUnits(ctx context.Context, activityID int64, barrier string, n int) error {
	err := s.walk(ctx, activityID, barrier, n, false)
	if errors.Is(err, flashsale.ErrStockShort) {
		return flashsale.ErrNotEnoughUnits
	}
	return err
}

// Close marks the activity closed in every shard: no purchase takes a unit
// after it returns (Take answers ErrClosed). Units already taken stay
// taken.
func (s *Stock) Close(ctx context.Context, activityID int64) error {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return err
	}
	for i := range l.N {
		if err := s.rdb.Set(ctx, contract.ClosedKey(activityID, i), "1", 0).Err(); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks that Redis answers.
func (s *Stock) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
