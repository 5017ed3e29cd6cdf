package gate

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// windowScript counts a request in a fixed one-second window of every key
// and answers 0 when all are under their limit, else the milliseconds left
// in the window of the first key over it. The keys of one call may sit in
// different cluster slots only on a single node; the limiter calls it once
// per key on a cluster.
// KEYS: window keys; ARGV: the limit of each key, in order.
var windowScript = redis.NewScript(`
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 then redis.call('PEXPIRE', k, 1000) end
  if n > tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', k)
    if ttl < 1 then ttl = 1000 end
    return ttl
  end
end
return 0
`)

// Limits are requests per second; 0 turns a limit off.
type Limits struct {
	PerUser int
	PerIP   int
}

// RateLimiter limits buys per user and per IP, counted in Redis so that the
// limits hold across every instance.
type RateLimiter struct {
	rdb    redis.UniversalClient
	limits Limits
}

// NewRateLimiter returns a RateLimiter on rdb.
func NewRateLimiter(rdb redis.UniversalClient, l Limits) *RateLimiter {
	return &RateLimiter{rdb: rdb, limits: l}
}

// Allow counts a buy by user from ip. It returns 0 when allowed, else how
// long to wait. The per-IP count is per AddrKey: an IPv6 address's /64.
func (r *RateLimiter) Allow(ctx context.Context, user, ip string) (time.Duration, error) {
	sec := strconv.FormatInt(time.Now().Unix(), 10)
	var keys []string
	var limits []any
	if r.limits.PerUser > 0 {
		keys, limits = append(keys, "{fs:rl:u:"+user+"}:"+sec), append(limits, r.limits.PerUser)
	}
	if r.limits.PerIP > 0 {
		keys, limits = append(keys, "{fs:rl:ip:"+AddrKey(ip)+"}:"+sec), append(limits, r.limits.PerIP)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if _, cluster := r.rdb.(*redis.ClusterClient); cluster {
		for i := range keys {
			if wait, err := r.run(ctx, keys[i:i+1], limits[i:i+1]); err != nil || wait > 0 {
				return wait, err
			}
		}
		return 0, nil
	}
	return r.run(ctx, keys, limits)
}

func (r *RateLimiter) run(ctx context.Context, keys []string, limits []any) (time.Duration, error) {
	ms, err := windowScript.Run(ctx, r.rdb, keys, limits...).Int64()
	return time.Duration(ms) * time.Millisecond, err
}

// Admission bounds the buys of an activity in flight in this instance to a
// multiple of its remaining units (with a floor), so that a burst far larger
// than the stock waits at the door instead of queueing on Redis and dtm.
type Admission struct {
	factor, floor int64

	mu       sync.Mutex // mu guards inflight and left
	inflight map[int64]int64
	left     map[int64]int64
}

// NewAdmission admits up to max(factor x remaining units, floor) buys of an
// activity at once.
func NewAdmission(factor, floor int64) *Admission {
	return &Admission{factor: factor, floor: floor, inflight: map[int64]int64{}, left: map[int64]int64{}}
}

// Enter admits a buy of the activity; it returns false when the activity's
// buys in flight are at their bound. Every admitted buy calls the returned
// function when done.
func (a *Admission) Enter(activityID int64) (func(), bool) {
	if a.factor <= 0 {
		return func() {}, true // no bound configured
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	bound := a.floor
	if left, ok := a.left[activityID]; ok && a.factor*left > bound {
		bound = a.factor * left
	} else if !ok {
		bound = 1 << 30 // remaining units unknown yet: no bound
	}
	if a.inflight[activityID] >= bound {
		return nil, false
	}
	a.inflight[activityID]++
	return func() {
		a.mu.Lock()
		a.inflight[activityID]--
		a.mu.Unlock()
	}, true
}

// SetRemaining records the activity's remaining units (from the sold-out
// poller).
func (a *Admission) SetRemaining(activityID, units int64) {
	a.mu.Lock()
	a.left[activityID] = units
	a.mu.Unlock()
}
