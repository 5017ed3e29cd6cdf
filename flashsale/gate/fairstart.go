package gate

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

// MaxFairStart bounds an activity's fair-start window.
const MaxFairStart = 5 * time.Second

// FairStart holds the buys that reach this instance in the first
// FairStartMS milliseconds after an activity opens, then lets them go on in
// a random order, so that a shopper 30 ms closer to the servers no longer
// wins for it. Each buy draws a random ticket on arrival; when the window
// ends the tickets are released in their order, one after the other.
// Buys arriving after the window go on at once. The answer of each buy is
// whatever its purchase answers; only its moment changes.
type FairStart struct {
	mu    sync.Mutex // mu guards draws
	draws map[int64]*draw
}

// draw is one activity's window: the buys waiting in it.
type draw struct {
	waiting []ticket
}

type ticket struct {
	n    uint64
	turn chan struct{}
}

// NewFairStart returns a FairStart with no buys held.
func NewFairStart() *FairStart { return &FairStart{draws: map[int64]*draw{}} }

// Window returns the end of a's fair-start window, and whether it has one.
func Window(a flashsale.Activity) (time.Time, bool) {
	if a.FairStartMS <= 0 {
		return time.Time{}, false
	}
	return a.StartAt.Add(time.Duration(a.FairStartMS) * time.Millisecond), true
}

// Hold returns true at once unless now falls in a's window; then it
// returns true when the window has ended and this buy's turn has come, or
// false when ctx ends first: that buy must not go on, or a client hanging
// up would jump the draw.
func (f *FairStart) Hold(ctx context.Context, a flashsale.Activity, now time.Time) bool {
	end, ok := Window(a)
	if !ok || now.Before(a.StartAt) || !now.Before(end) {
		return true
	}
	t := ticket{n: rand.Uint64(), turn: make(chan struct{})}
	f.mu.Lock()
	d, ok := f.draws[a.ID]
	if !ok {
		d = &draw{}
		f.draws[a.ID] = d
		time.AfterFunc(end.Sub(now), func() { f.release(a.ID) })
	}
	d.waiting = append(d.waiting, t)
	f.mu.Unlock()
	select {
	case <-t.turn:
		return true
	case <-ctx.Done():
		return false
	}
}

// release lets the buys held for activity id go on, one after the other
// in their tickets' order.
func (f *FairStart) release(id int64) {
	f.mu.Lock()
	d := f.draws[id]
	delete(f.draws, id)
	f.mu.Unlock()
	slices.SortFunc(d.waiting, func(a, b ticket) int {
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	})
	for _, t := range d.waiting {
		close(t.turn)
	}
}
