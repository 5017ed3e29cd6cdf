package embedredis

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRunIDPerStart: INFO server, from a client and from a Lua script,
// names a run id of 40 hex digits, the same for the life of a server and
// a new one at its next start, as a Redis process does: the stock's
// counters set before a restart are stale after it.
func TestRunIDPerStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redis.aof")
	ctx := context.Background()
	runID := regexp.MustCompile(`run_id:([0-9a-f]{40})`)
	read := func() (client, script string) {
		s, err := Start(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := redis.NewClient(&redis.Options{Addr: s.Addr()})
		defer c.Close()
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			t.Fatal(err)
		}
		lua, err := c.Eval(ctx, `return redis.pcall('INFO', 'server')`, nil).Text()
		if err != nil {
			t.Fatal(err)
		}
		m1, m2 := runID.FindStringSubmatch(info), runID.FindStringSubmatch(lua)
		if m1 == nil || m2 == nil {
			t.Fatalf("no run id: client %q, script %q", info, lua)
		}
		return m1[1], m2[1]
	}
	c1, s1 := read()
	c2, _ := read()
	if c1 != s1 {
		t.Fatalf("one server, two run ids: %s and %s", c1, s1)
	}
	if c1 == c2 {
		t.Fatalf("a restart kept the run id %s", c1)
	}
}
