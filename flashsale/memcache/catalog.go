// Package memcache keeps in-process copies of what every purchase reads, so
// that the burst of a sale never reaches MySQL, nor Redis for the activity.
package memcache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"golang.org/x/sync/singleflight"
)

// maxMisses bounds the activity ids a Catalog remembers as not found: any
// client can ask for as many unknown ids as it likes, while the activities
// found are bounded by the catalog itself.
const maxMisses = 4096

// Catalog wraps a flashsale.Catalog and caches Activity lookups, found or
// not, and the activity list, for ttl. Concurrent misses share a single
// load. When a load fails (the stores are down) the last good copy keeps
// being served. At most maxMisses ids not found are remembered.
type Catalog struct {
	flashsale.Catalog
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex // mu guards entries, misses and list
	entries map[int64]entry
	misses  map[int64]entry // the ids not found, apart: bounded by maxMisses
	list    listEntry
	loads   singleflight.Group
}

type entry struct {
	a       flashsale.Activity
	err     error
	expires time.Time
}

type listEntry struct {
	list    []flashsale.Activity
	ok      bool
	expires time.Time
}

// NewCatalog returns a caching wrapper of c.
func NewCatalog(c flashsale.Catalog, ttl time.Duration, now func() time.Time) *Catalog {
	return &Catalog{Catalog: c, ttl: ttl, now: now, entries: map[int64]entry{}, misses: map[int64]entry{}}
}

// Activity returns the activity from the cache, loading it when stale.
// Store errors other than ENotFound are not cached.
func (c *Catalog) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	c.mu.RLock()
	e, ok := c.entries[id]
	m, missed := c.misses[id]
	c.mu.RUnlock()
	if missed && c.now().Before(m.expires) {
		return m.a, m.err
	}
	if ok && c.now().Before(e.expires) {
		return e.a, e.err
	}
	v, err, _ := c.loads.Do(strconv.FormatInt(id, 10), func() (any, error) {
		a, err := c.Catalog.Activity(context.WithoutCancel(ctx), id)
		switch {
		case err == nil:
			c.mu.Lock()
			c.entries[id] = entry{a: a, expires: c.now().Add(c.ttl)}
			delete(c.misses, id)
			c.mu.Unlock()
		case contract.ErrorCode(err) == contract.ENotFound:
			c.mu.Lock()
			delete(c.entries, id)
			c.addMiss(id, entry{a: a, err: err, expires: c.now().Add(c.ttl)})
			c.mu.Unlock()
		}
		return a, err
	})
	if err != nil && ok && e.err == nil && contract.ErrorCode(err) != contract.ENotFound {
		return e.a, nil // the stores are down: the last good copy
	}
	a, _ := v.(flashsale.Activity)
	return a, err
}

// addMiss remembers id as not found, keeping at most maxMisses: when full,
// it drops the misses expired, or all of them when that frees less than a
// quarter (so that a flood of unknown ids costs O(1) per id, amortized).
// c.mu is held.
func (c *Catalog) addMiss(id int64, e entry) {
	if _, ok := c.misses[id]; !ok && len(c.misses) >= maxMisses {
		now := c.now()
		for k, m := range c.misses {
			if !now.Before(m.expires) {
				delete(c.misses, k)
			}
		}
		if len(c.misses) > maxMisses*3/4 {
			clear(c.misses)
		}
	}
	c.misses[id] = e
}

// Activities returns the list from the cache, loading it when stale.
func (c *Catalog) Activities(ctx context.Context) ([]flashsale.Activity, error) {
	c.mu.RLock()
	l := c.list
	c.mu.RUnlock()
	if l.ok && c.now().Before(l.expires) {
		return l.list, nil
	}
	v, err, _ := c.loads.Do("list", func() (any, error) {
		list, err := c.Catalog.Activities(context.WithoutCancel(ctx))
		if err == nil {
			c.mu.Lock()
			c.list = listEntry{list: list, ok: true, expires: c.now().Add(c.ttl)}
			c.mu.Unlock()
		}
		return list, err
	})
	if err != nil && l.ok {
		return l.list, nil
	}
	list, _ := v.([]flashsale.Activity)
	return list, err
}

// CreateActivity creates the activity and drops any cached miss of its id
// and the list.
func (c *Catalog) CreateActivity(ctx context.Context, a flashsale.Activity) (flashsale.Activity, error) {
	a, err := c.Catalog.CreateActivity(ctx, a)
	if err == nil {
		c.drop(a.ID)
	}
	return a, err
}

// CancelActivity cancels the activity and drops this instance's copies.
// Other instances serve their copy for up to the TTL; their buys are
// refused at once all the same (the Redis closed marker, Stock.Close).
func (c *Catalog) CancelActivity(ctx context.Context, id int64, now time.Time) (flashsale.Activity, error) {
	a, err := c.Catalog.CancelActivity(ctx, id, now)
	if err == nil {
		c.drop(id)
	}
	return a, err
}

// Forget drops the copies of activity id in the layer below, when it
// caches too, then here: the next read loads what the catalog holds now.
func (c *Catalog) Forget(ctx context.Context, id int64) {
	if f, ok := c.Catalog.(interface {
		Forget(context.Context, int64)
	}); ok {
		f.Forget(ctx, id)
	}
	c.drop(id)
}

// Evict drops this instance's copies of activity id (and the list), and
// nothing below: another instance changed it and dropped the shared ones.
func (c *Catalog) Evict(id int64) { c.drop(id) }

func (c *Catalog) drop(id int64) {
	c.mu.Lock()
	delete(c.entries, id)
	delete(c.misses, id)
	c.list = listEntry{}
	c.mu.Unlock()
}
