package rediscache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/redis/go-redis/v9"
)

// takeScript is the local step of a purchase message, dtm's Redis barrier
// (RedisCheckAdjustAmount) for a msg's DoAndSubmit, on one activity's keys.
//
// KEYS[1] barrier key, KEYS[2] stock key; ARGV[1] amount to add (-1 takes a
// unit), ARGV[2] the barrier's TTL in seconds.
//
// The barrier is checked before the stock, unlike dtmcli's script: a
// concurrent duplicate of a purchase that took the last unit must see
// DUPLICATE, not FAILURE, or DoAndSubmit would abort the gid both attempts
// share and the first attempt's unit would never become an order.
// A barrier closed by the back-check answers ROLLEDBACK (dtmcli says
// DUPLICATE; the outcome, an aborted message, is the same).
var takeScript = redis.NewScript(`
local b = redis.call('GET', KEYS[1])
if b == 'rollback' then
  return 'ROLLEDBACK'
end
if b then
  return 'DUPLICATE'
end
local s = redis.call('GET', KEYS[2])
if not s or tonumber(s) + tonumber(ARGV[1]) < 0 then
  return 'FAILURE'
end
redis.call('SET', KEYS[1], 'op', 'EX', ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
return 'OK'
`)

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
	barrierTTL int
}

// DefaultBarrierTTL keeps barriers as long as the dtm server keeps
// transactions (its DataExpire, 7 days).
const DefaultBarrierTTL = 7 * 24 * time.Hour

// NewStock returns a Stock on rdb whose barrier keys expire after ttl.
func NewStock(rdb redis.UniversalClient, ttl time.Duration) *Stock {
	return &Stock{rdb: rdb, barrierTTL: int(ttl / time.Second)}
}

var _ flashsale.Stock = (*Stock)(nil)

// Preheat sets the activity's stock counter to units.
func (s *Stock) Preheat(ctx context.Context, activityID int64, units int) error {
	return s.rdb.Set(ctx, StockKey(activityID), units, 0).Err()
}

// Remaining returns the activity's stock counter.
func (s *Stock) Remaining(ctx context.Context, activityID int64) (int64, bool, error) {
	n, err := s.rdb.Get(ctx, StockKey(activityID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// Take runs the local step of a purchase message.
func (s *Stock) Take(ctx context.Context, activityID int64, barrier string) error {
	keys := []string{BarrierKey(activityID, barrier), StockKey(activityID)}
	res, err := takeScript.Run(ctx, s.rdb, keys, -1, s.barrierTTL).Text()
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
	}
	return fmt.Errorf("take script answered %q", res)
}

// QueryPrepared runs the back-check of a purchase message.
func (s *Stock) QueryPrepared(ctx context.Context, activityID int64, barrier string) error {
	res, err := queryScript.Run(ctx, s.rdb, []string{BarrierKey(activityID, barrier)}, s.barrierTTL).Text()
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
	v, err := s.rdb.Get(ctx, BarrierKey(activityID, barrier)).Result()
	if errors.Is(err, redis.Nil) {
		return flashsale.BarrierAbsent, nil
	}
	return v, err
}

// restoreScript sets the stock counter and marks barriers taken, keeping
// any barrier that has a value, in one atomic call.
// KEYS[1] stock key, KEYS[2..] barrier keys; ARGV[1] units, ARGV[2] TTL.
var restoreScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], 'op', 'EX', ARGV[2], 'NX')
end
return 'OK'
`)

// Restore sets the stock counter and marks the taken barriers, atomically
// (all keys are in the activity's slot).
func (s *Stock) Restore(ctx context.Context, activityID int64, units int64, taken []string) error {
	keys := make([]string, 0, len(taken)+1)
	keys = append(keys, StockKey(activityID))
	for _, b := range taken {
		keys = append(keys, BarrierKey(activityID, b))
	}
	return restoreScript.Run(ctx, s.rdb, keys, units, s.barrierTTL).Err()
}

// Ping checks that Redis answers.
func (s *Stock) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
