// Package rediscache keeps the Redis side of a sale on go-redis v9: the stock
// counter and the barrier keys of dtm's Redis barrier protocol, every key of
// an activity under the hash tag {fs:<activity>} so that one Lua call touches
// one cluster slot.
package rediscache

import "strconv"

func tag(activityID int64) string { return "{fs:" + strconv.FormatInt(activityID, 10) + "}" }

// StockKey is the key of an activity's stock counter.
func StockKey(activityID int64) string { return tag(activityID) + ":stock" }

// BarrierKey is the key of a barrier of an activity's purchase message;
// barrier is dtm's barrier name "<gid>-<branch>-<op>-<barrier id>".
func BarrierKey(activityID int64, barrier string) string {
	return tag(activityID) + ":bar:" + barrier
}

// ClosedKey is the key of an activity's closed marker (Stock.Close).
func ClosedKey(activityID int64) string { return tag(activityID) + ":closed" }
