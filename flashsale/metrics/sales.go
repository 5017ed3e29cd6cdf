package metrics

import (
	"sync"
	"time"
)

// window is how many whole seconds of buys per second a tally keeps.
const window = 60

// Sales tallies this instance's buys per activity for the admin's sale
// view: answers by outcome, rejections by gate, and buys per second over
// the last minute. The buy handler records a buy only once its activity is
// known, so the tally holds no more activities than the catalog.
type Sales struct {
	now  func() time.Time
	mu   sync.RWMutex // mu guards acts (not the tallies, which lock themselves)
	acts map[int64]*tally
}

// tally is one activity's.
type tally struct {
	mu       sync.Mutex // mu guards everything below
	outcomes map[string]int64
	rejects  map[string]int64
	secs     [window]second // ring indexed by unix second
}

type second struct {
	unix           int64
	buys, accepted int64
}

// NewSales returns an empty tally on the clock now.
func NewSales(now func() time.Time) *Sales {
	return &Sales{now: now, acts: map[int64]*tally{}}
}

// Record counts one answered buy of activity: its outcome ("accepted" or
// the error code) and, when a gate turned it away, the gate.
func (s *Sales) Record(activity int64, outcome, gate string) {
	if activity <= 0 {
		return
	}
	t := s.tally(activity)
	sec := s.now().Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outcomes[outcome]++
	if gate != "" {
		t.rejects[gate]++
	}
	b := &t.secs[sec%window]
	if b.unix != sec {
		*b = second{unix: sec}
	}
	b.buys++
	if outcome == "accepted" {
		b.accepted++
	}
}

func (s *Sales) tally(activity int64) *tally {
	s.mu.RLock()
	t := s.acts[activity]
	s.mu.RUnlock()
	if t != nil {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t = s.acts[activity]; t == nil {
		t = &tally{outcomes: map[string]int64{}, rejects: map[string]int64{}}
		s.acts[activity] = t
	}
	return t
}

// SaleSnapshot is one activity's tally at one moment.
type SaleSnapshot struct {
	// Outcomes counts answered buys by outcome: "accepted" or an error code.
	Outcomes map[string]int64 `json:"outcomes"`
	// Rejections counts buys turned away before any dtm work, by gate.
	Rejections map[string]int64 `json:"rejections"`
	// PerSecond and AcceptedPerSecond are the buys answered, and accepted,
	// in each of the last 60 whole seconds, oldest first; the current
	// second is not included (it is not over).
	PerSecond         []int64 `json:"per_second"`
	AcceptedPerSecond []int64 `json:"accepted_per_second"`
}

// Snapshot returns activity's tally (empty when it had no buy here).
func (s *Sales) Snapshot(activity int64) SaleSnapshot {
	snap := SaleSnapshot{Outcomes: map[string]int64{}, Rejections: map[string]int64{},
		PerSecond: make([]int64, window), AcceptedPerSecond: make([]int64, window)}
	s.mu.RLock()
	t := s.acts[activity]
	s.mu.RUnlock()
	if t == nil {
		return snap
	}
	now := s.now().Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.outcomes {
		snap.Outcomes[k] = v
	}
	for k, v := range t.rejects {
		snap.Rejections[k] = v
	}
	for i := range window {
		sec := now - window + int64(i)
		if b := t.secs[sec%window]; b.unix == sec {
			snap.PerSecond[i], snap.AcceptedPerSecond[i] = b.buys, b.accepted
		}
	}
	return snap
}
