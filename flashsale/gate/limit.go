package gate

import (
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

// Limits are requests per second; 0 turns a limit off.
type Limits struct {
	PerUser int
	PerIP   int
}

// RateLimiter limits buys per user and per IP. It names the windows; the
// buy path counts them in Redis (flashsale.Stock.CheckBuy), so that the
// limits hold across every instance.
type RateLimiter struct {
	limits Limits
}

// NewRateLimiter returns a RateLimiter with limits l.
func NewRateLimiter(l Limits) *RateLimiter {
	return &RateLimiter{limits: l}
}

// Windows returns the windows a buy by user from ip is counted in, in the
// current second. The per-IP window is per AddrKey: an IPv6 address's /64.
func (r *RateLimiter) Windows(user, ip string) []flashsale.RateWindow {
	if r.limits.PerUser <= 0 && r.limits.PerIP <= 0 {
		return nil
	}
	sec := strconv.FormatInt(time.Now().Unix(), 10)
	w := make([]flashsale.RateWindow, 0, 2)
	if r.limits.PerUser > 0 {
		w = append(w, flashsale.RateWindow{Key: "{fs:rl:u:" + user + "}:" + sec, Limit: r.limits.PerUser})
	}
	if r.limits.PerIP > 0 {
		w = append(w, flashsale.RateWindow{Key: "{fs:rl:ip:" + AddrKey(ip) + "}:" + sec, Limit: r.limits.PerIP})
	}
	return w
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

// Pressure tells how close the activity's buys in flight on this instance
// are to their bound: 0 under half, 1 under the bound, 2 at it (and 0
// without a bound). The challenge difficulty rises with it.
func (a *Admission) Pressure(activityID int64) int {
	if a.factor <= 0 {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	left, ok := a.left[activityID]
	if !ok {
		return 0
	}
	bound := max(a.floor, a.factor*left)
	switch n := a.inflight[activityID]; {
	case n >= bound:
		return 2
	case 2*n >= bound:
		return 1
	}
	return 0
}

// SetRemaining records the activity's remaining units (from the sold-out
// poller).
func (a *Admission) SetRemaining(activityID, units int64) {
	a.mu.Lock()
	a.left[activityID] = units
	a.mu.Unlock()
}
