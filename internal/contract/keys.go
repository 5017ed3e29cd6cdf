package contract

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// The Redis key layout of a sale, written by flashsale and read by
// reconcile. An activity's units are split over its shards (1 by default,
// at most MaxShards), each a hash slot of its own so that one Lua call
// touches one Redis Cluster slot and the shards of one sale can sit on
// different masters. Shard 0's keys are under the hash tag {fs:<activity>}
// (the layout of a sale of one shard), shard k's under {fs:<activity>:<k>}.
// Each shard holds a stock counter, an epoch, a closed marker and the
// barriers of the messages whose home it is (Shards.Home).

// MaxShards bounds an activity's shards.
const MaxShards = 64

// Shards is the stock layout of one activity: its units split over N
// shards.
type Shards struct {
	Activity int64
	N        int
}

// Home returns the shard where the message gid keeps its barrier: a
// purchase's local step starts there, and a cancellation or an addition of
// units puts its units there. It is a hash of the gid, so a purchase's
// home follows from its user, and a repeat of it meets its barrier.
func (s Shards) Home(gid string) int {
	if s.N <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(gid))
	return int(h.Sum32() % uint32(s.N))
}

// Share returns the units shard i holds when units are split evenly, the
// first shards taking the remainder.
func (s Shards) Share(units int64, i int) int64 {
	n := int64(max(s.N, 1))
	q := units / n
	if int64(i) < units%n {
		q++
	}
	return q
}

func tag(activityID int64, shard int) string {
	if shard == 0 {
		return "{fs:" + strconv.FormatInt(activityID, 10) + "}"
	}
	return "{fs:" + strconv.FormatInt(activityID, 10) + ":" + strconv.Itoa(shard) + "}"
}

// StockKey is the key of one shard's stock counter.
func StockKey(activityID int64, shard int) string { return tag(activityID, shard) + ":stock" }

// BarrierKey is the key of a barrier in one shard; barrier is dtm's
// barrier name "<gid>-<branch>-<op>-<barrier id>".
func BarrierKey(activityID int64, shard int, barrier string) string {
	return tag(activityID, shard) + ":bar:" + barrier
}

// ClosedKey is the key of one shard's closed marker: set in every shard
// when the activity is cancelled, after which no unit is taken.
func ClosedKey(activityID int64, shard int) string { return tag(activityID, shard) + ":closed" }

// EpochKey is the key of the run id of the Redis process one shard's
// counter was set under: a counter whose epoch is not the running
// process's is stale.
func EpochKey(activityID int64, shard int) string { return tag(activityID, shard) + ":epoch" }

// InfoKey is the key of an activity's cached catalog entry, shared by the
// flashsale instances (reconcile does not read it).
func InfoKey(activityID int64) string { return tag(activityID, 0) + ":info" }

// BarrierNext is the prefix of the barrier value a purchase (or a removal
// of units) leaves in a shard it found empty: "next:<k>" names the shard
// where its walk went on. A shard's barrier is absent, BarrierTaken,
// BarrierRollback, or such a link.
const BarrierNext = "next:"

// NextShard reads a link left by a walk: the shard it names, and whether v
// is one.
func NextShard(v string) (int, bool) {
	s, ok := strings.CutPrefix(v, BarrierNext)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(s)
	return k, err == nil && k >= 0 && k < MaxShards
}

// ChallengeKey is the key set when the proof-of-work challenge of nonce is
// redeemed (flashsale/gate): a challenge is good once, on any instance.
func ChallengeKey(nonce string) string { return "{fs:pow}:" + nonce }

// RederiveKey is the key of the lock one instance holds while it
// re-derives an activity's stock (in shard 0's slot).
func RederiveKey(activityID int64) string { return tag(activityID, 0) + ":rederive" }
