package dtmclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// TestWatchStoresRepairsWhenAStoreChanges: the watch repairs at its start,
// again at the next poll when that repair failed, and when a group's store
// epoch changes; not while the epochs stay.
func TestWatchStoresRepairsWhenAStoreChanges(t *testing.T) {
	a, b := newFakeDTM(t), newFakeDTM(t)
	a.setEpoch("run1/m1")
	b.setEpoch("run2/m2")
	whys := make(chan string, 10)
	failed := false
	repair := func(_ context.Context, why string) error {
		whys <- why
		if !failed {
			failed = true
			return errors.New("a store is down")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		dtmclient.WatchStores(ctx, a.api()+","+b.api(), 10*time.Millisecond, time.Hour, log, repair)
	}()
	t.Cleanup(func() { cancel(); <-done })
	next := func() string {
		select {
		case why := <-whys:
			return why
		case <-time.After(2 * time.Second):
			return "no repair"
		}
	}
	if first, again := next(), next(); first != "start" || again != "start" {
		t.Fatalf("repairs at the start: %q, then %q", first, again)
	}
	select {
	case why := <-whys:
		t.Fatalf("a repair (%q) while no epoch changed", why)
	case <-time.After(100 * time.Millisecond):
	}
	b.setEpoch("run3/m2") // a failover of b's store
	if why := next(); !strings.Contains(why, b.api()) {
		t.Fatalf("after b's store changed: %q", why)
	}
}

// A repair is full for any reason but the fallback, before any full pass,
// and once the last full pass is every old; a fallback between is light.
func TestFullPass(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		why   string
		last  time.Time
		every time.Duration
		full  bool
	}{
		{"start", now.Add(-time.Minute), time.Hour, true},
		{dtmclient.Fallback, time.Time{}, time.Hour, true},
		{dtmclient.Fallback, now.Add(-time.Minute), time.Hour, false},
		{dtmclient.Fallback, now.Add(-time.Hour), time.Hour, true},
		{dtmclient.Fallback, now.Add(-time.Minute), 0, true},
	} {
		if got := dtmclient.FullPass(c.why, c.last, c.every, now); got != c.full {
			t.Errorf("FullPass(%q, last %s ago, every %s) = %v, want %v", c.why, now.Sub(c.last), c.every, got, c.full)
		}
	}
}
