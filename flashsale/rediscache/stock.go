package rediscache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sabotage"
	"github.com/redis/go-redis/v9"
)

// takeScript is the local step of a purchase message, dtm's Redis barrier
// (RedisCheckAdjustAmount) for a msg's DoAndSubmit, on one activity's keys.
//
// KEYS[1] barrier key, KEYS[2] stock key; ARGV[1] amount to add (-1 takes a
// unit; an admin's removal of units takes more), ARGV[2] the barrier's TTL
// in seconds.
//
// The barrier is checked before the stock, unlike dtmcli's script: a
// concurrent duplicate of a purchase that took the last unit must see
// DUPLICATE, not FAILURE, or DoAndSubmit would abort the gid both attempts
// share and the first attempt's unit would never become an order.
// A barrier closed by the back-check answers ROLLEDBACK (dtmcli says
// DUPLICATE; the outcome, an aborted message, is the same).
//
// KEYS[3] is the epoch key: a counter set under another Redis process
// answers STALE and takes nothing until it is re-derived (epoch.go). The
// check comes after the missing-counter check, which keeps dtmcli's
// FAILURE for a counter that does not exist.
//
// KEYS[4], given for purchases only, is the activity's closed marker, set
// when an admin cancels the activity: from then on no purchase takes a
// unit, on any instance, whatever its cached copy of the activity says.
var takeScript = newHotScript("fs_take", sabotage.TakeScript(`
local b = redis.call('GET', KEYS[1])
if b == 'rollback' then
  return 'ROLLEDBACK'
end
if b then
  return 'DUPLICATE'
end
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then
  return 'CLOSED'
end
local s = redis.call('GET', KEYS[2])
if not s then
  return 'FAILURE'
end
if redis.call('GET', KEYS[3]) ~= runid() then
  return 'STALE'
end
if tonumber(s) + tonumber(ARGV[1]) < 0 then
  return 'FAILURE'
end
redis.call('SET', KEYS[1], 'op', 'EX', ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
return 'OK'
`)) // sabotage: in test builds only, may drop the barrier check

// queryScript is the back-check (dtm's RedisQueryPrepared): a barrier still
// absent is closed with 'rollback' so that a late local step cannot commit.
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
return 'OK'
`)

// Stock implements flashsale.Stock on a Redis server or cluster.
type Stock struct {
	rdb        redis.UniversalClient
	hot        *hotRunner // the buy path's scripts (library.go)
	barrierTTL int
}

// hotScripts is the function library of the scripts every buy runs.
var hotScripts = newHotLibrary([]string{windowsLua}, checkBuyScript, takeScript, remainingScript)

// DefaultBarrierTTL keeps barriers as long as the dtm server keeps
// transactions (its DataExpire, 7 days).
const DefaultBarrierTTL = 7 * 24 * time.Hour

// NewStock returns a Stock on rdb whose barrier keys expire after ttl.
func NewStock(rdb redis.UniversalClient, ttl time.Duration) *Stock {
	return &Stock{rdb: rdb, hot: newHotRunner(hotScripts, rdb), barrierTTL: int(ttl / time.Second)}
}

var _ flashsale.Stock = (*Stock)(nil)

// preheatScript sets the stock counter and its epoch.
// KEYS[1] stock key, KEYS[2] epoch key; ARGV[1] units.
var preheatScript = redis.NewScript(runIDLua + `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], runid())
return 'OK'
`)

// Preheat sets the activity's stock counter to units, fresh under the
// running Redis process.
func (s *Stock) Preheat(ctx context.Context, activityID int64, units int) error {
	return preheatScript.Run(ctx, s.rdb, []string{contract.StockKey(activityID), contract.EpochKey(activityID)}, units).Err()
}

// remainingScript reads the stock counter, or nil when it is missing or
// stale. KEYS[1] stock key, KEYS[2] epoch key.
var remainingScript = newHotScript("fs_remaining", `
local s = redis.call('GET', KEYS[1])
if not s or redis.call('GET', KEYS[2]) ~= runid() then
  return false
end
return s
`)

// Remaining returns the activity's stock counter; ok is false when the
// counter is missing or stale (set under another Redis process, so it must
// be re-derived: epoch.go).
func (s *Stock) Remaining(ctx context.Context, activityID int64) (int64, bool, error) {
	n, err := s.hot.run(ctx, remainingScript, []string{contract.StockKey(activityID), contract.EpochKey(activityID)}).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// Take runs the local step of a purchase message: one unit, unless the
// activity is closed (ErrClosed).
func (s *Stock) Take(ctx context.Context, activityID int64, barrier string) error {
	return s.take(ctx, activityID, barrier, 1, contract.ClosedKey(activityID))
}

// TakeUnits runs the local step of an admin's removal of n unsold units:
// all n or none (ErrNotEnoughUnits), closed activity or not.
func (s *Stock) TakeUnits(ctx context.Context, activityID int64, barrier string, n int) error {
	err := s.take(ctx, activityID, barrier, n, "")
	if errors.Is(err, flashsale.ErrStockShort) {
		return flashsale.ErrNotEnoughUnits
	}
	return err
}

func (s *Stock) take(ctx context.Context, activityID int64, barrier string, n int, closedKey string) error {
	keys := []string{contract.BarrierKey(activityID, barrier), contract.StockKey(activityID), contract.EpochKey(activityID)}
	if closedKey != "" {
		keys = append(keys, closedKey)
	}
	res, err := s.hot.run(ctx, takeScript, keys, -n, s.barrierTTL).Text()
	if err != nil {
		return fmt.Errorf("take script: %w", err)
	}
	switch res {
	case "OK":
		return nil
	case "FAILURE":
		return flashsale.ErrStockShort
	case "DUPLICATE":
		return flashsale.ErrDuplicate
	case "ROLLEDBACK":
		return flashsale.ErrRolledBack
	case "STALE":
		return flashsale.ErrStale
	case "CLOSED":
		return flashsale.ErrClosed
	}
	return fmt.Errorf("take script answered %q", res)
}

// Close marks the activity closed: no purchase takes a unit after it
// returns (Take answers ErrClosed). Units already taken stay taken.
func (s *Stock) Close(ctx context.Context, activityID int64) error {
	return s.rdb.Set(ctx, contract.ClosedKey(activityID), "1", 0).Err()
}

// QueryPrepared runs the back-check of a purchase message.
func (s *Stock) QueryPrepared(ctx context.Context, activityID int64, barrier string) error {
	res, err := queryScript.Run(ctx, s.rdb, []string{contract.BarrierKey(activityID, barrier)}, s.barrierTTL).Text()
	if err != nil {
		return fmt.Errorf("query script: %w", err)
	}
	switch res {
	case "OK":
		return nil
	case "FAILURE":
		return flashsale.ErrRolledBack
	}
	return fmt.Errorf("query script answered %q", res)
}

// Barrier returns the state of a barrier.
func (s *Stock) Barrier(ctx context.Context, activityID int64, barrier string) (string, error) {
	v, err := s.rdb.Get(ctx, contract.BarrierKey(activityID, barrier)).Result()
	if errors.Is(err, redis.Nil) {
		return contract.BarrierAbsent, nil
	}
	return v, err
}

// restoreScript sets the stock counter and its epoch and marks barriers
// taken, keeping any barrier that has a value, in one atomic call; it does
// nothing when the counter is already fresh (another re-derivation won).
// KEYS[1] stock key, KEYS[2] epoch key, KEYS[3..] barrier keys; ARGV[1]
// units, ARGV[2] TTL.
var restoreScript = redis.NewScript(runIDLua + `
local run = runid()
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('GET', KEYS[2]) == run then
  return 'FRESH'
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], run)
for i = 3, #KEYS do
  redis.call('SET', KEYS[i], 'op', 'EX', ARGV[2], 'NX')
end
return 'OK'
`)

// Restore sets the stock counter and marks the taken barriers, atomically
// (all keys are in the activity's slot), unless the counter is already
// fresh: a re-derivation is exact only while the counter is stale or
// missing, when Take takes nothing (epoch.go).
func (s *Stock) Restore(ctx context.Context, activityID int64, units int64, taken []string) error {
	keys := make([]string, 0, len(taken)+2)
	keys = append(keys, contract.StockKey(activityID), contract.EpochKey(activityID))
	for _, b := range taken {
		keys = append(keys, contract.BarrierKey(activityID, b))
	}
	return restoreScript.Run(ctx, s.rdb, keys, units, s.barrierTTL).Err()
}

// Ping checks that Redis answers.
func (s *Stock) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
