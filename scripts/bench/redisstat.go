package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisCommand is what the run's Redis server spent on one command during
// a run: calls, and the microseconds it counted executing them (INFO
// commandstats: the command itself, scripts included, not the network).
type RedisCommand struct {
	Calls  int64 `json:"calls"`
	Micros int64 `json:"usec"`
}

// RedisStats is the run's Redis server's commands during a run, by name.
// The server is the run's own, shared by flashsale (FCALL or EVALSHA of
// its scripts) and dtm's store (EVAL of its scripts, GET, LRANGE...).
type RedisStats map[string]RedisCommand

// redisSnapshot reads INFO commandstats; nil when it cannot be read.
func redisSnapshot(ctx context.Context, rdb *redis.Client) RedisStats {
	if rdb == nil {
		return nil
	}
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil
	}
	out := RedisStats{}
	for _, line := range strings.Split(info, "\n") {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var c RedisCommand
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				c.Calls = n
			case "usec":
				c.Micros = n
			}
		}
		out[strings.TrimPrefix(name, "cmdstat_")] = c
	}
	return out
}

// redisSince returns the commands run since before.
func redisSince(ctx context.Context, rdb *redis.Client, before RedisStats) RedisStats {
	after := redisSnapshot(ctx, rdb)
	if before == nil || after == nil {
		return nil
	}
	out := RedisStats{}
	for name, a := range after {
		b := before[name]
		if d := (RedisCommand{Calls: a.Calls - b.Calls, Micros: a.Micros - b.Micros}); d.Calls > 0 {
			out[name] = d
		}
	}
	delete(out, "info") // the snapshots' own
	return out
}

// PerRequest renders the calls per request of n requests (purchases), the
// most frequent first. Calls from inside scripts count too (a dtm EVAL's
// SET and GET), so the top-level round trips are the scripts (eval: dtm's
// store, fcall or evalsha: flashsale) and the plain reads. The server's
// own timing (usec) is left out: it is wall time, which a loaded machine
// stretches whenever the server is descheduled.
func (s RedisStats) PerRequest(n int64) string {
	if s == nil || n <= 0 {
		return "-"
	}
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := s[names[i]].Calls, s[names[j]].Calls; a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	for _, name := range names {
		if calls := float64(s[name].Calls) / float64(n); calls >= 0.01 {
			fmt.Fprintf(&b, " %s %.2f", name, calls)
		}
	}
	return strings.TrimSpace(b.String())
}
