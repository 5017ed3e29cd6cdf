package rediscache

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A Redis server that restarts reloads its append-only file, which with
// appendfsync everysec may lack the last second of writes: a unit taken
// (barrier and decrement) can be gone while its order exists in MySQL. The
// counter then still exists but is wrong, so "missing" is not enough to
// know that it must be re-derived.
//
// Each activity's counter therefore carries an epoch: the run id of the
// Redis process under which it was last set from a known state (Preheat, or
// Restore after a re-derivation), in the key EpochKey. A restart changes
// the run id, so every counter becomes stale at once, atomically with the
// restart. The scripts compare the two themselves (INFO server inside Lua),
// so no client can act on an old view:
//
//   - Remaining reports a stale counter as not loaded, so buys are turned
//     away (503) before any dtm work and package restock re-derives it;
//   - Take answers STALE and takes nothing: while an activity is stale its
//     taken units are frozen, which is what makes the re-derivation exact
//     even while buys are in flight (see Restore);
//   - Restore sets the counter only while it is still stale, so of two
//     instances re-deriving at once the second never overwrites the first
//     after buys resumed.
//
// A server whose INFO has no run id has the run id "none": its counters
// are stale only when missing. The embedded mode's Redis answers a new
// run id at every start (embedredis), since a power loss can cut the last
// second of its journal.

// runIDLua defines runid(), the running Redis process's run id, for the
// scripts that need it.
const runIDLua = `
local function runid()
  local info = redis.pcall('INFO', 'server')
  if type(info) ~= 'string' then
    return 'none'
  end
  return string.match(info, 'run_id:(%x+)') or 'none'
end
`

var runIDScript = redis.NewScript(runIDLua + `return runid()`)

// Runs names the Redis processes behind the client: the run id of the
// server, or of every master of a cluster. A change means a restart or a
// failover, after which counters may be stale.
func (s *Stock) Runs(ctx context.Context) (string, error) {
	c, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return runIDScript.Run(ctx, s.rdb, nil).Text()
	}
	var mu sync.Mutex
	var ids []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		id, err := runIDScript.Run(ctx, n, nil).Text()
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("run ids: %w", err)
	}
	sort.Strings(ids)
	return strings.Join(ids, ","), nil
}
