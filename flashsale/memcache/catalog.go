// Package memcache keeps in-process copies of what every purchase reads, so
// that the burst of a sale never reaches MySQL.
package memcache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"golang.org/x/sync/singleflight"
)

// Catalog wraps a flashsale.Catalog and caches Activity lookups, found or
// not, for ttl. Concurrent misses for one id share a single load.
type Catalog struct {
	flashsale.Catalog
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex // mu guards entries
	entries map[int64]entry
	loads   singleflight.Group
}

type entry struct {
	a       flashsale.Activity
	err     error
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
		if err == nil || flashsale.ErrorCode(err) == flashsale.ENotFound {
			c.mu.Lock()
			c.entries[id] = entry{a: a, err: err, expires: c.now().Add(c.ttl)}
			c.mu.Unlock()
		}
		return a, err
	})
	a, _ := v.(flashsale.Activity)
	return a, err
}

// CreateActivity creates the activity and drops any cached miss of its id.
func (c *Catalog) CreateActivity(ctx context.Context, a flashsale.Activity) (flashsale.Activity, error) {
	a, err := c.Catalog.CreateActivity(ctx, a)
	if err == nil {
		c.mu.Lock()
		delete(c.entries, a.ID)
		c.mu.Unlock()
	}
	return a, err
}
