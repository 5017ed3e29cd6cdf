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

// Catalog wraps a flashsale.Catalog and caches Activity lookups, found or
// not, and the activity list, for ttl. Concurrent misses share a single
// load. When a load fails (the stores are down) the last good copy keeps
// being served.
type Catalog struct {
	flashsale.Catalog
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex // mu guards entries and list
	entries map[int64]entry
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
	return &Catalog{Catalog: c, ttl: ttl, now: now, entries: map[int64]entry{}}
}

// Activity returns the activity from the cache, loading it when stale.
// Store errors other than ENotFound are not cached.
func (c *Catalog) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && c.now().Before(e.expires) {
		return e.a, e.err
	}
	v, err, _ := c.loads.Do(strconv.FormatInt(id, 10), func() (any, error) {
		a, err := c.Catalog.Activity(context.WithoutCancel(ctx), id)
		if err == nil || contract.ErrorCode(err) == contract.ENotFound {
			c.mu.Lock()
			c.entries[id] = entry{a: a, err: err, expires: c.now().Add(c.ttl)}
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

func (c *Catalog) drop(id int64) {
	c.mu.Lock()
	delete(c.entries, id)
	c.list = listEntry{}
	c.mu.Unlock()
}
