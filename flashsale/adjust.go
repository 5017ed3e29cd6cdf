package flashsale

import (
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

// ErrNotEnoughUnits: a removal asked for more units than are unsold.
var ErrNotEnoughUnits = contract.Errorf(contract.EInsufficientStock, "fewer unsold units are left than the removal asks for")

// ErrClosed: the activity was cancelled; no unit can be taken any more.
var ErrClosed = contract.Errorf(contract.EEnded, "the sale was cancelled")

// AppliedAdjustment is an adjustment the activity's total includes, as the
// admin API lists it.
type AppliedAdjustment struct {
	GID       string    `json:"gid"`
	Delta     int       `json:"delta"`
	RequestID string    `json:"request_id"`
	AppliedAt time.Time `json:"applied_at"`
}

// Ledger is what the DB knows of an activity's units: its total now and
// the adjustments the total includes, read together.
type Ledger struct {
	Total int
	// Applied holds the gids of the adjustments applied to Total.
	Applied map[string]bool
}

// Cancelled returns a cancelled at now: it ends at now (and, when it had not
// started, starts at now too, so that it reads as ended, not upcoming).
// An activity already over is returned unchanged.
func (a Activity) Cancelled(now time.Time) Activity {
	now = now.UTC().Truncate(time.Millisecond)
	if !now.Before(a.EndAt) {
		return a
	}
	a.EndAt = now
	if a.StartAt.After(now) {
		a.StartAt = now
	}
	return a
}
