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

// PerRequest renders the commands per request of n requests (purchases),
// the costliest first: calls and microseconds each, then in all.
func (s RedisStats) PerRequest(n int64) string {
	if s == nil || n <= 0 {
		return "-"
	}
	names := make([]string, 0, len(s))
	var calls, micros int64
	for name, c := range s {
		names = append(names, name)
		calls += c.Calls
		micros += c.Micros
	}
	sort.Slice(names, func(i, j int) bool { return s[names[i]].Micros > s[names[j]].Micros })
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f commands, %.1f us per request:", float64(calls)/float64(n), float64(micros)/float64(n))
	for _, name := range names {
		c := s[name]
		fmt.Fprintf(&b, " %s %.2f x %.1f us", name, float64(c.Calls)/float64(n), float64(c.Micros)/float64(c.Calls))
	}
	return b.String()
}
