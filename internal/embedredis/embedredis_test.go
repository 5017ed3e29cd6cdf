package embedredis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// TestJournalCompacted: a restart rewrites the journal as the state it
// reached, which comes back whole on the next start: every type, TTLs,
// and a write made by a script whose loading the rewrite dropped.
func TestJournalCompacted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redis.aof")
	s, c := start(t, path)
	c.Set(ctx, "stock", 2000, 0)
	for i := 0; i < 1000; i++ {
		if err := decr.Run(ctx, c, []string{"stock", "bar:"}, fmt.Sprint(i%10)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c.HSet(ctx, "h", "a", "1", "b", "2")
	c.ZAdd(ctx, "z", redis.Z{Score: 0.1, Member: "m"}, redis.Z{Score: 1e12 + 0.5, Member: "n"})
	c.RPush(ctx, "l", "x", "y", "x")
	c.SAdd(ctx, "s", "p", "q")
	c.Set(ctx, "ttl", "v", time.Hour)
	before := dump(t, c)
	c.Close()
	s.Close()
	grown, _ := os.Stat(path)

	s, c = start(t, path)
	compacted, _ := os.Stat(path)
	if compacted.Size() > grown.Size()/10 {
		t.Fatalf("journal %d bytes after the restart, %d before: not compacted", compacted.Size(), grown.Size())
	}
	// The script is not loaded any more: its run reloads it, journaled.
	if err := decr.Run(ctx, c, []string{"stock", "bar:"}, "after").Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Close()

	s, c = start(t, path)
	defer s.Close()
	after := dump(t, c)
	before["stock"], before["bar:after"] = "999", "op"
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after two restarts:\n%v\nwant:\n%v", after, before)
	}
	if z := c.ZRangeWithScores(ctx, "z", 0, -1).Val(); len(z) != 2 || z[0].Score != 0.1 || z[1].Score != 1e12+0.5 {
		t.Fatalf("sorted set after the restarts: %v", z)
	}
	if l := c.LRange(ctx, "l", 0, -1).Val(); fmt.Sprint(l) != "[x y x]" {
		t.Fatalf("list after the restarts: %v", l)
	}
	if h := c.HGetAll(ctx, "h").Val(); h["a"] != "1" || h["b"] != "2" || len(h) != 2 {
		t.Fatalf("hash after the restarts: %v", h)
	}
	if ttl := c.TTL(ctx, "ttl").Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL after the restarts: %v", ttl)
	}
	t.Logf("journal: %d bytes before the first restart, %d after", grown.Size(), compacted.Size())
}

// TestPubSubNotJournaled: a subscriber hears a publish through the
// embedded Redis, and neither is written to the journal.
func TestPubSubNotJournaled(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redis.aof")
	_, c := start(t, path)
	c.Set(ctx, "k", "v", 0)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Subscribe(ctx, "ch")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "ch", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ps.Channel():
		if m.Payload != "hello" {
			t.Fatalf("heard %q", m.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing heard")
	}
	if after, err := os.Stat(path); err != nil || after.Size() != fi.Size() {
		t.Fatalf("the journal grew from %d to %d bytes with pub/sub (%v)", fi.Size(), after.Size(), err)
	}
}
