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
