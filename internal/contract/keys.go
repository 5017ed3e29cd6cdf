package contract

import "strconv"

// The Redis key layout of a sale, written by flashsale and read by
// reconcile: every key of an activity under the hash tag {fs:<activity>},
// so that one Lua call touches one Redis Cluster slot.

func tag(activityID int64) string { return "{fs:" + strconv.FormatInt(activityID, 10) + "}" }

// StockKey is the key of an activity's stock counter.
func StockKey(activityID int64) string { return tag(activityID) + ":stock" }

// BarrierKey is the key of a barrier of one of an activity's messages;
// barrier is dtm's barrier name "<gid>-<branch>-<op>-<barrier id>".
func BarrierKey(activityID int64, barrier string) string {
	return tag(activityID) + ":bar:" + barrier
}

// ClosedKey is the key of an activity's closed marker: set when the
// activity is cancelled, after which no unit is taken.
func ClosedKey(activityID int64) string { return tag(activityID) + ":closed" }

// EpochKey is the key of the run id of the Redis process the activity's
// counter was set under: a counter whose epoch is not the running
// process's is stale.
func EpochKey(activityID int64) string { return tag(activityID) + ":epoch" }

// InfoKey is the key of an activity's cached catalog entry, shared by the
// flashsale instances (reconcile does not read it).
func InfoKey(activityID int64) string { return tag(activityID) + ":info" }
