package memcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
)

// fakeCatalog counts loads and fails when down.
type fakeCatalog struct {
	flashsale.Catalog
	loads atomic.Int64
	down  atomic.Bool
}

func (f *fakeCatalog) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	f.loads.Add(1)
	time.Sleep(10 * time.Millisecond)
	if f.down.Load() {
		return flashsale.Activity{}, errors.New("connection refused")
	}
	if id == 404 {
		return flashsale.Activity{}, contract.Errorf(contract.ENotFound, "no")
	}
	return flashsale.Activity{ID: id, Name: "a"}, nil
}

func TestActivityCache(t *testing.T) {
	f := &fakeCatalog{}
	now := time.Now()
	clock := func() time.Time { return now }
	c := NewCatalog(f, time.Second, clock)
	ctx := context.Background()

	t.Run("StampedeLoadsOnce", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if a, err := c.Activity(ctx, 1); err != nil || a.ID != 1 {
					t.Errorf("Activity = %v, %v", a, err)
				}
			}()
		}
		wg.Wait()
		if n := f.loads.Load(); n != 1 {
			t.Fatalf("%d loads for 100 concurrent reads, want 1", n)
		}
	})
	t.Run("NotFoundCached", func(t *testing.T) {
		before := f.loads.Load()
		for i := 0; i < 3; i++ {
			if _, err := c.Activity(ctx, 404); contract.ErrorCode(err) != contract.ENotFound {
				t.Fatalf("err = %v", err)
			}
		}
		if n := f.loads.Load() - before; n != 1 {
			t.Fatalf("%d loads of a missing activity, want 1", n)
		}
	})
	t.Run("StaleWhenDown", func(t *testing.T) {
		f.down.Store(true)
		now = now.Add(2 * time.Second) // expired
		if a, err := c.Activity(ctx, 1); err != nil || a.ID != 1 {
			t.Fatalf("with the store down: %v, %v; want the last good copy", a, err)
		}
		if _, err := c.Activity(ctx, 2); err == nil {
			t.Fatal("an activity never loaded was served with the store down")
		}
	})
}

// knownCatalog has the activities 1 to 10; every other id is not found.
type knownCatalog struct {
	flashsale.Catalog
	loads atomic.Int64
}

func (k *knownCatalog) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	k.loads.Add(1)
	if id < 1 || id > 10 {
		return flashsale.Activity{}, contract.Errorf(contract.ENotFound, "no activity %d", id)
	}
	return flashsale.Activity{ID: id}, nil
}

// TestUnknownIDsBounded: a flood of distinct unknown activity ids, faster
// than the misses expire, leaves at most maxMisses of them in memory; the
// known activities stay cached, and a miss asked for again at once is
// still answered from memory.
func TestUnknownIDsBounded(t *testing.T) {
	k := &knownCatalog{}
	now := time.Now()
	c := NewCatalog(k, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	for id := int64(1); id <= 10; id++ {
		if _, err := c.Activity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	peak := 0
	for id := int64(1000); id < 1000+20*maxMisses; id++ {
		if _, err := c.Activity(ctx, id); contract.ErrorCode(err) != contract.ENotFound {
			t.Fatalf("Activity(%d) = %v, want not_found", id, err)
		}
		before := k.loads.Load()
		if _, err := c.Activity(ctx, id); contract.ErrorCode(err) != contract.ENotFound || k.loads.Load() != before {
			t.Fatalf("a miss asked for again: %v, %d loads; want not_found from memory", err, k.loads.Load()-before)
		}
		c.mu.RLock()
		peak = max(peak, len(c.misses)+len(c.entries))
		c.mu.RUnlock()
	}
	if peak > maxMisses+10 {
		t.Fatalf("%d entries at the peak of %d unknown ids, want at most %d", peak, 20*maxMisses, maxMisses+10)
	}
	c.mu.RLock()
	found := len(c.entries)
	c.mu.RUnlock()
	if found != 10 {
		t.Fatalf("%d activities cached, want the 10 known", found)
	}
	before := k.loads.Load()
	for id := int64(1); id <= 10; id++ {
		if a, err := c.Activity(ctx, id); err != nil || a.ID != id {
			t.Fatalf("Activity(%d) = %v, %v", id, a, err)
		}
	}
	if n := k.loads.Load() - before; n != 0 {
		t.Fatalf("the flood of unknown ids evicted known activities: %d loads", n)
	}

	// Once the first flood's misses have expired, a second flood is bounded
	// too (the expired ones are dropped to make room).
	now = now.Add(2 * time.Hour)
	c.Activity(ctx, 1)
	for id := int64(1 << 40); id < 1<<40+maxMisses+1; id++ {
		c.Activity(ctx, id)
	}
	c.mu.RLock()
	n := len(c.misses)
	c.mu.RUnlock()
	if n > maxMisses {
		t.Fatalf("%d misses remembered, want at most %d", n, maxMisses)
	}
}
