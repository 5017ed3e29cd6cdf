package gate

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// StockReader reads an activity's stock counter.
type StockReader interface {
	Remaining(ctx context.Context, activityID int64) (units int64, ok bool, err error)
}

// SoldOut keeps, per activity, this instance's view of whether its stock is
// exhausted, so that the burst after the last unit is turned away from
// memory: no dtm transaction, no Redis call. A buy sets the flag when the
// Lua step finds no unit; a poller reads the counter of every activity
// bought from in the last minute every interval and sets or clears the flag,
// so every instance learns of the last unit, and of a unit returned by a
// cancellation, within one interval.
type SoldOut struct {
	mu    sync.RWMutex // mu guards state
	state map[int64]*soldOutState
}

type soldOutState struct {
	out      bool
	lastSeen time.Time
}

// NewSoldOut returns an empty SoldOut.
func NewSoldOut() *SoldOut { return &SoldOut{state: map[int64]*soldOutState{}} }

// Is reports whether the activity is known to be sold out, and notes that
// it is being bought from.
func (s *SoldOut) Is(activityID int64, now time.Time) bool {
	s.mu.RLock()
	st, ok := s.state[activityID]
	out := ok && st.out
	fresh := ok && now.Sub(st.lastSeen) < time.Second
	s.mu.RUnlock()
	if !fresh {
		s.mu.Lock()
		if st, ok = s.state[activityID]; !ok {
			st = &soldOutState{}
			s.state[activityID] = st
		}
		st.lastSeen = now
		s.mu.Unlock()
	}
	return out
}

// Set records that the activity is sold out (or not).
func (s *SoldOut) Set(activityID int64, out bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.state[activityID]
	if !ok {
		st = &soldOutState{lastSeen: time.Now()}
		s.state[activityID] = st
	}
	st.out = out
}

// Poll reads the counters of recently bought activities every interval
// until ctx ends, and passes each reading to observe (when not nil).
// Activities not bought from for a minute are forgotten.
func (s *SoldOut) Poll(ctx context.Context, stock StockReader, interval time.Duration, observe func(activityID, units int64), log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, id := range s.active(now) {
				// A read cut off by its deadline costs go-redis its
				// connection: give it far more than the interval.
				rctx, cancel := context.WithTimeout(ctx, time.Second)
				n, ok, err := stock.Remaining(rctx, id)
				cancel()
				if err != nil {
					log.Warn("sold-out poll", "activity", id, "err", err)
					continue
				}
				s.Set(id, ok && n <= 0)
				if ok && observe != nil {
					observe(id, n)
				}
			}
		}
	}
}

// active returns the activities bought from in the last minute and drops
// the others.
func (s *SoldOut) active(now time.Time) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.state))
	for id, st := range s.state {
		if now.Sub(st.lastSeen) > time.Minute {
			delete(s.state, id)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}
