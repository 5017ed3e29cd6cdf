package rediscache

import (
	"context"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// windowsLua defines count_windows(keys, limits, first): it counts a
// request in a fixed one-second window under each of keys[first..]
// (limits[i] the limit of the i-th of them) and stops at the first key
// over its limit, returning the milliseconds left in its window, or 0 when
// every key is under its limit.
const windowsLua = `
local function count_windows(keys, limits, first)
  for i = first, #keys do
    local n = redis.call('INCR', keys[i])
    if n == 1 then redis.call('PEXPIRE', keys[i], 1000) end
    if n > tonumber(limits[i - first + 1]) then
      local ttl = redis.call('PTTL', keys[i])
      if ttl < 1 then ttl = 1000 end
      return ttl
    end
  end
  return 0
end
`

// windowsScript counts a request in rate windows alone.
// KEYS: window keys; ARGV: the limit of each, in order. Returns the wait
// in milliseconds (0: allowed).
var windowsScript = redis.NewScript(windowsLua + `return count_windows(KEYS, ARGV, 1)`)

// checkBuyScript counts a buy in its rate windows and, when every window
// allows it, reads the stock counter as remainingScript does: the buy
// path's one Redis round trip before any dtm work.
// KEYS[1] stock key, KEYS[2] epoch key, KEYS[3..] window keys; ARGV: the
// limit of each window. Returns {wait ms, loaded (1 or 0), counter}.
var checkBuyScript = newHotScript("fs_check_buy", `
local wait = count_windows(KEYS, ARGV, 3)
if wait > 0 then
  return {wait, 0, 0}
end
local s = redis.call('GET', KEYS[1])
if not s or redis.call('GET', KEYS[2]) ~= runid() then
  return {0, 0, 0}
end
return {0, 1, tonumber(s)}
`, windowsLua)

// CountWindows counts a request in every window on rdb and returns how
// long to wait when one is over its limit (0: allowed). On a cluster the
// windows, each in its own slot, are counted one call each.
func CountWindows(ctx context.Context, rdb redis.UniversalClient, windows []flashsale.RateWindow) (time.Duration, error) {
	if len(windows) == 0 {
		return 0, nil
	}
	if _, cluster := rdb.(*redis.ClusterClient); cluster && len(windows) > 1 {
		for i := range windows {
			if wait, err := CountWindows(ctx, rdb, windows[i:i+1]); err != nil || wait > 0 {
				return wait, err
			}
		}
		return 0, nil
	}
	keys, limits := windowArgs(windows, nil)
	ms, err := windowsScript.Run(ctx, rdb, keys, limits...).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate windows: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// CheckBuy implements flashsale.Stock: it reads the counter of gid's home
// shard. On one server it is one script; on a cluster, where the windows
// live in other slots than the activity, the windows are counted first and
// the counter read after.
func (s *Stock) CheckBuy(ctx context.Context, activityID int64, gid string, windows []flashsale.RateWindow) (flashsale.BuyCheck, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return flashsale.BuyCheck{}, err
	}
	home := l.Home(gid)
	if _, cluster := s.rdb.(*redis.ClusterClient); cluster || len(windows) == 0 {
		wait, err := CountWindows(ctx, s.rdb, windows)
		if err != nil || wait > 0 {
			return flashsale.BuyCheck{Wait: wait}, err
		}
		n, ok, err := s.shard(ctx, activityID, home)
		return flashsale.BuyCheck{Units: n, Loaded: ok, Shards: l.N}, err
	}
	keys, limits := windowArgs(windows, []string{contract.StockKey(activityID, home), contract.EpochKey(activityID, home)})
	res, err := s.hot.run(ctx, checkBuyScript, keys, limits...).Int64Slice()
	if err != nil {
		return flashsale.BuyCheck{}, fmt.Errorf("check buy: %w", err)
	}
	if len(res) != 3 {
		return flashsale.BuyCheck{}, fmt.Errorf("check buy answered %v", res)
	}
	if res[0] > 0 {
		return flashsale.BuyCheck{Wait: time.Duration(res[0]) * time.Millisecond}, nil
	}
	return flashsale.BuyCheck{Units: res[2], Loaded: res[1] == 1, Shards: l.N}, nil
}

// windowArgs returns the keys (after those given) and the limits of
// windows, as the scripts take them.
func windowArgs(windows []flashsale.RateWindow, keys []string) ([]string, []any) {
	limits := make([]any, len(windows))
	for i, w := range windows {
		keys = append(keys, w.Key)
		limits[i] = w.Limit
	}
	return keys, limits
}
