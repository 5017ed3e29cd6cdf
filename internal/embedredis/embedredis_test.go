package embedredis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

func start(t *testing.T, path string) (*Server, *redis.Client) {
	t.Helper()
	s, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), PoolSize: 32})
	t.Cleanup(func() { c.Close() })
	return s, c
}

var decr = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v <= 0 then return 'EMPTY' end
redis.call('SET', KEYS[2] .. ARGV[1], 'op')
redis.call('DECR', KEYS[1])
return 'OK'`)

// TestJournalReplay: the state after a restart is the state before it,
// including writes made by Lua scripts from many clients at once.
func TestJournalReplay(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redis.aof")
	s, c := start(t, path)
	c.Set(ctx, "stock", 50, 0)
	c.HSet(ctx, "h", "a", "1", "b", "2")
	c.ZAdd(ctx, "z", redis.Z{Score: 3, Member: "m"})
	var wg sync.WaitGroup
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := decr.Run(ctx, c, []string{"stock", "bar:"}, fmt.Sprint(i)).Err(); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	before := dump(t, c)
	if before["stock"] != "0" || len(before) != 53 {
		t.Fatalf("state before restart: %d keys, stock %q", len(before), before["stock"])
	}
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn last record, as a crash mid-write leaves it, is dropped.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("*3\r\n$3\r\nSET\r\n$5\r\nstock\r\n$2\r\n99")
	f.Close()
	s2, c2 := start(t, path)
	defer s2.Close()
	after := dump(t, c2)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after replay:\n%v\nbefore:\n%v", after, before)
	}
	if v, _ := c2.HGet(ctx, "h", "b").Result(); v != "2" {
		t.Fatalf("hash after replay: %q", v)
	}
	if err := c2.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("write after replay: %v", err)
	}
}

func TestRefusesMultiAndSelect(t *testing.T) {
	s, c := start(t, filepath.Join(t.TempDir(), "redis.aof"))
	defer s.Close()
	ctx := context.Background()
	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, "k", 1, 0); return nil }); err == nil {
		t.Fatal("MULTI accepted")
	}
	c1 := redis.NewClient(&redis.Options{Addr: s.Addr(), DB: 3})
	defer c1.Close()
	if err := c1.Ping(ctx).Err(); err == nil {
		t.Fatal("SELECT 3 accepted")
	}
}

// dump returns every string key and its value.
func dump(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if typ, _ := c.Type(ctx, k).Result(); typ == "string" {
			out[k] = c.Get(ctx, k).Val()
		} else {
			out[k] = typ
		}
	}
	return out
}
