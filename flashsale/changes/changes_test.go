package changes

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func TestMessages(t *testing.T) {
	if id, ok := ParseActivity(Activity(42)); !ok || id != 42 {
		t.Fatalf("ParseActivity(Activity(42)) = %d, %v", id, ok)
	}
	for _, bad := range []string{Blacklist, "activity:", "activity:-1", "activity:x", "activity:0"} {
		if _, ok := ParseActivity(bad); ok {
			t.Errorf("ParseActivity(%q) accepted", bad)
		}
	}
}

// TestListenHearsPublish: a listener hears what another client publishes,
// and stops when its context ends.
func TestListenHearsPublish(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan string, 4)
	done := make(chan struct{})
	go func() {
		Listen(ctx, rdb, func(m string) { heard <- m })
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := Publish(ctx, rdb, Activity(7)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-heard:
			if m != Activity(7) {
				t.Fatalf("heard %q", m)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Listen did not end with its context")
			}
			return
		case <-time.After(50 * time.Millisecond): // not subscribed yet
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing heard in 5 s")
		}
	}
}
