package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// PurchasePrefix starts the gid of every purchase message:
// "flash-sale-<activity>-<user>".
const PurchasePrefix = "flash-sale-"

// cancelPrefix and adjustPrefix start the gids of cancellations and stock
// adjustments. Neither shares the purchase prefix "flash-sale-<activity>-":
// "cancel" and "stock" are no activity ids.
const (
	cancelPrefix = "flash-sale-cancel-"
	adjustPrefix = "flash-sale-stock-"
)

// PurchaseGID returns the gid of user's purchase message in activity. One
// gid per (activity, user) makes "one purchase per user" a property of the
// transaction itself.
func PurchaseGID(activityID int64, userID string) string {
	return PurchasePrefix + strconv.FormatInt(activityID, 10) + "-" + userID
}

// PurchaseGIDPrefix starts the gid of every purchase in activity.
func PurchaseGIDPrefix(activityID int64) string { return PurchaseGID(activityID, "") }

// ParsePurchaseGID splits a purchase gid into its activity and user. User
// ids never contain '-', so the first '-' after the prefix ends the
// activity id.
func ParsePurchaseGID(gid string) (activityID int64, userID string, err error) {
	return parseActivityUser(gid, PurchasePrefix, "a purchase")
}

// CancelGID returns the gid of the message that cancels user's unpaid order
// in activity and returns its unit. One order per (activity, user) makes it
// one cancellation per order, whoever starts it and however often.
func CancelGID(activityID int64, userID string) string {
	return cancelPrefix + strconv.FormatInt(activityID, 10) + "-" + userID
}

// CancelGIDPrefix starts the gid of every cancellation in activity.
func CancelGIDPrefix(activityID int64) string { return CancelGID(activityID, "") }

// ParseCancelGID splits a cancellation gid into its activity and user.
func ParseCancelGID(gid string) (activityID int64, userID string, err error) {
	return parseActivityUser(gid, cancelPrefix, "a cancellation")
}

func parseActivityUser(gid, prefix, what string) (int64, string, error) {
	rest, ok := strings.CutPrefix(gid, prefix)
	if !ok {
		return 0, "", fmt.Errorf("gid %q is not %s", gid, what)
	}
	act, user, ok := strings.Cut(rest, "-")
	id, err := strconv.ParseInt(act, 10, 64)
	if !ok || !ValidUserID(user) || err != nil || id <= 0 || strconv.FormatInt(id, 10) != act {
		return 0, "", fmt.Errorf("gid %q is not %s", gid, what)
	}
	return id, user, nil
}

// ValidUserID reports whether id is a user id of the contract: 1-64
// characters of [A-Za-z0-9_]. Request ids of stock adjustments follow the
// same rule.
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// MaxAdjust bounds the units of one stock adjustment.
const MaxAdjust = 10_000_000

// An Adjustment is an admin's change of an activity's units by Delta
// (positive adds units, negative removes unsold ones), run as a DTM
// message whose gid names all of it:
// "flash-sale-stock-<activity>-<add|remove><units>-<request id>". The
// request id, chosen by the caller, makes a retried request apply once.
type Adjustment struct {
	ActivityID int64
	Delta      int
	RequestID  string
}

// GID returns the adjustment's gid.
func (a Adjustment) GID() string {
	dir, n := "add", a.Delta
	if n < 0 {
		dir, n = "remove", -n
	}
	return adjustPrefix + strconv.FormatInt(a.ActivityID, 10) + "-" + dir + strconv.Itoa(n) + "-" + a.RequestID
}

// Validate checks the adjustment's fields; its error is an Error
// EBadRequest.
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
