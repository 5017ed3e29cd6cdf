package flashsale

import (
	"fmt"
	"strconv"
	"strings"
)

// cancelPrefix starts the gid of every cancellation message. It does not
// share the purchase prefix "flash-sale-<activity>-": "cancel" is no
// activity id.
const cancelPrefix = "flash-sale-cancel-"

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
	rest, ok := strings.CutPrefix(gid, cancelPrefix)
	if !ok {
		return 0, "", fmt.Errorf("gid %q is not a cancellation", gid)
	}
	act, user, ok := strings.Cut(rest, "-")
	id, perr := strconv.ParseInt(act, 10, 64)
	if !ok || !ValidUserID(user) || perr != nil || id <= 0 {
		return 0, "", fmt.Errorf("gid %q is not a cancellation", gid)
	}
	return id, user, nil
}

// ReturnBranch is the branch id of a cancellation's only branch, the unit's
// return to Redis: dtm numbers a message's branches from "01".
const ReturnBranch = "01"

// ReturnBarrier names the Redis barrier of a cancellation's branch as dtm
// names a branch's first barrier: "<gid>-01-action-01". It lives with the
// purchase barriers under the activity's hash tag.
func ReturnBarrier(cancelGID string) string { return cancelGID + "-" + ReturnBranch + "-action-01" }

// ReturnRequest is the body of a cancellation message's branch, POSTed by
// the dtm server to flashsale's /internal/stock/return; the gid comes with
// dtm's query parameters.
type ReturnRequest struct {
	ActivityID int64  `json:"activity_id"`
	UserID     string `json:"user_id"`
}
