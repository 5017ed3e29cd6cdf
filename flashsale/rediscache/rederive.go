package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// A re-derivation (package restock) sets an activity's counters from the
// durable stores. It is exact only while no shard takes a unit, and a
// restart or a failover makes stale only the shards on the Redis process
// that went; the others keep selling. So a re-derivation first freezes
// every shard, in order, by setting its epoch to "frozen:<token>" (a value
// no run id has, so the shard is stale and takes nothing), then reads the
// stores, then restores the shards in the same order, each only while it
// still holds its token, and stops at the first that does not.
//
// Of two re-derivations that overlap, the later one's freeze overwrites
// the earlier's token in every shard, shard 0 first; the earlier can
// restore a shard only while the later has not frozen shard 0, and stops
// at shard 0 otherwise. So a shard's final counter always comes from a
// re-derivation that read the stores while every shard was frozen, and a
// pass that stops part-way leaves frozen shards behind, which the next
// pass finds stale. A lock (RederiveKey, a few seconds) keeps two
// instances from interleaving in the first place; the tokens keep it exact
// when the lock expires or is lost.

// rederiveLock bounds one re-derivation's hold of the activity.
const rederiveLock = 5 * time.Second

// frozenPrefix starts the epoch of a frozen shard.
const frozenPrefix = "frozen:"

// Freeze starts a re-derivation of the activity: it takes the activity's
// lock and freezes every shard. It returns the token Restore needs, or ""
// when no shard is missing or stale any more (another instance re-derived
// it). It returns flashsale.ErrRederiving while another instance holds the
// lock.
func (s *Stock) Freeze(ctx context.Context, activityID int64) (string, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return "", err
	}
	b := make([]byte, 8)
	rand.Read(b)
	token := hex.EncodeToString(b)
	ok, err := s.rdb.SetNX(ctx, contract.RederiveKey(activityID), token, rederiveLock).Result()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", flashsale.ErrRederiving
	}
	if _, fresh, err := s.Remaining(ctx, activityID); err != nil || fresh {
		s.unlock(ctx, activityID, token)
		return "", err
	}
	for i := range l.N {
		if err := s.rdb.Set(ctx, contract.EpochKey(activityID, i), frozenPrefix+token, 0).Err(); err != nil {
			return "", fmt.Errorf("freeze shard %d: %w", i, err)
		}
	}
	return token, nil
}

// restoreScript sets one frozen shard's counter and epoch and marks
// barriers taken, keeping any barrier that has a value other than a link,
// in one atomic call, while the shard still holds the freeze's token.
// KEYS[1] stock key, KEYS[2] epoch key, KEYS[3..] barrier keys; ARGV[1]
// units, ARGV[2] TTL, ARGV[3] the frozen epoch.
var restoreScript = redis.NewScript(runIDLua + `
if redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return 'RACED'
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], runid())
for i = 3, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v or string.sub(v, 1, 5) == 'next:' then
    redis.call('SET', KEYS[i], 'op', 'EX', ARGV[2])
  end
end
return 'OK'
`)

// Restore ends the re-derivation token started: it splits units over the
// shards and marks the barriers named taken, each in its message's home
// shard (where a returning buyer's walk starts), shard by shard in order.
// It returns flashsale.ErrRederiving, having stopped, at the first shard
// another re-derivation froze since.
func (s *Stock) Restore(ctx context.Context, activityID int64, token string, units int64, taken []string) error {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return err
	}
	defer s.unlock(ctx, activityID, token)
	byShard := make([][]string, l.N)
	for _, b := range taken {
		h := l.Home(contract.BarrierGID(b))
		byShard[h] = append(byShard[h], contract.BarrierKey(activityID, h, b))
	}
	for i := range l.N {
		keys := append([]string{contract.StockKey(activityID, i), contract.EpochKey(activityID, i)}, byShard[i]...)
		res, err := restoreScript.Run(ctx, s.rdb, keys, l.Share(units, i), s.barrierTTL, frozenPrefix+token).Text()
		if err != nil {
			return fmt.Errorf("restore shard %d: %w", i, err)
		}
		if res != "OK" {
			return fmt.Errorf("restore shard %d: %w", i, flashsale.ErrRederiving)
		}
	}
	return nil
}

// unlockScript drops the activity's re-derivation lock if token holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
`)

func (s *Stock) unlock(ctx context.Context, activityID int64, token string) {
	unlockScript.Run(ctx, s.rdb, []string{contract.RederiveKey(activityID)}, token)
}
