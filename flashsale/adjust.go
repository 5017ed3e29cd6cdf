package flashsale

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// adjustPrefix starts the gid of every stock adjustment. Like the
// cancellation prefix it does not share the purchase prefix
// "flash-sale-<activity>-": "stock" is no activity id.
const adjustPrefix = "flash-sale-stock-"

// An Adjustment is an admin's change of an activity's units by Delta
// (positive adds units, negative removes unsold ones), run as a DTM
// message (package adjust) whose gid names all of it:
// "flash-sale-stock-<activity>-<add|remove><units>-<request id>". The
// request id, chosen by the caller, makes a retried request apply once.
type Adjustment struct {
	ActivityID int64
	Delta      int
	RequestID  string
}

// MaxAdjust bounds the units of one adjustment.
const MaxAdjust = 10_000_000

// GID returns the adjustment's gid.
func (a Adjustment) GID() string {
	dir, n := "add", a.Delta
	if n < 0 {
		dir, n = "remove", -n
	}
	return adjustPrefix + strconv.FormatInt(a.ActivityID, 10) + "-" + dir + strconv.Itoa(n) + "-" + a.RequestID
}

// Validate checks the adjustment's fields.
func (a Adjustment) Validate() error {
	switch {
	case a.Delta == 0 || a.Delta > MaxAdjust || a.Delta < -MaxAdjust:
		return Errorf(EBadRequest, "delta must be a non-zero integer of at most %d units either way", MaxAdjust)
	case !ValidUserID(a.RequestID):
		return Errorf(EBadRequest, "request_id must be 1-64 characters of A-Z a-z 0-9 _")
	}
	return nil
}

// AdjustGIDPrefix starts the gid of every adjustment of activity.
func AdjustGIDPrefix(activityID int64) string {
	return adjustPrefix + strconv.FormatInt(activityID, 10) + "-"
}

// ParseAdjustGID reads an adjustment back from its gid.
func ParseAdjustGID(gid string) (Adjustment, error) {
	bad := fmt.Errorf("gid %q is not a stock adjustment", gid)
	rest, ok := strings.CutPrefix(gid, adjustPrefix)
	if !ok {
		return Adjustment{}, bad
	}
	act, rest, ok1 := strings.Cut(rest, "-")
	amount, req, ok2 := strings.Cut(rest, "-")
	id, err := strconv.ParseInt(act, 10, 64)
	if !ok1 || !ok2 || err != nil || id <= 0 {
		return Adjustment{}, bad
	}
	sign := 1
	digits, ok := strings.CutPrefix(amount, "add")
	if !ok {
		sign = -1
		if digits, ok = strings.CutPrefix(amount, "remove"); !ok {
			return Adjustment{}, bad
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || strconv.Itoa(n) != digits {
		return Adjustment{}, bad
	}
	a := Adjustment{ActivityID: id, Delta: sign * n, RequestID: req}
	if a.Validate() != nil {
		return Adjustment{}, bad
	}
	return a, nil
}

// AdjustBranch is the branch id of an adjustment's only branch: for an
// addition, the units' arrival in Redis; for a removal, their departure
// from the DB stock.
const AdjustBranch = "01"

// AdjustBarrier names the Redis barrier of an addition's branch, as dtm
// names a branch's first barrier: "<gid>-01-action-01".
func AdjustBarrier(gid string) string { return gid + "-" + AdjustBranch + "-action-01" }

// AdjustRequest is the body of an adjustment's branch, POSTed by the dtm
// server to flashsale's internal listener; the gid comes with dtm's query
// parameters and must name the same adjustment.
type AdjustRequest struct {
	ActivityID int64 `json:"activity_id"`
	Delta      int   `json:"delta"`
}

// ErrNotEnoughUnits: a removal asked for more units than are unsold.
var ErrNotEnoughUnits = Errorf(EInsufficientStock, "fewer unsold units are left than the removal asks for")

// ErrClosed: the activity was cancelled; no unit can be taken any more.
var ErrClosed = Errorf(EEnded, "the sale was cancelled")

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
