package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/changes"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// infoKey holds an activity's JSON, in the activity's slot.

// listKey holds the JSON list of every activity.
const listKey = "{fs:list}:activities"

// ActivityCache is a cache-aside Redis layer over a flashsale.Catalog: an
// activity is written at creation (preheated) and read from Redis first, so
// the activity pages of a burst never reach MySQL. A Redis error falls
// through to the catalog.
type ActivityCache struct {
	flashsale.Catalog
	rdb     redis.UniversalClient
	ttl     time.Duration
	listTTL time.Duration
	log     *slog.Logger
}

// NewActivityCache returns the cache over cat.
func NewActivityCache(cat flashsale.Catalog, rdb redis.UniversalClient, log *slog.Logger) *ActivityCache {
	return &ActivityCache{Catalog: cat, rdb: rdb, ttl: time.Hour, listTTL: 5 * time.Second, log: log}
}

// Activity reads the activity from Redis, or from the catalog on a miss.
func (c *ActivityCache) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	var a flashsale.Activity
	b, err := c.rdb.Get(ctx, contract.InfoKey(id)).Bytes()
	if err == nil && json.Unmarshal(b, &a) == nil {
		return a, nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		c.log.Warn("activity cache read", "activity", id, "err", err)
	}
	a, err = c.Catalog.Activity(ctx, id)
	if err == nil {
		c.put(ctx, contract.InfoKey(id), a, c.ttl)
	}
	return a, err
}

// Activities reads the list from Redis, or from the catalog on a miss.
func (c *ActivityCache) Activities(ctx context.Context) ([]flashsale.Activity, error) {
	var list []flashsale.Activity
	if b, err := c.rdb.Get(ctx, listKey).Bytes(); err == nil && json.Unmarshal(b, &list) == nil {
		return list, nil
	}
	list, err := c.Catalog.Activities(ctx)
	if err == nil {
		c.put(ctx, listKey, list, c.listTTL)
	}
	return list, err
}

// CreateActivity creates the activity and preheats its cache entry, and
// tells every instance (one may remember the id as not found).
func (c *ActivityCache) CreateActivity(ctx context.Context, a flashsale.Activity) (flashsale.Activity, error) {
	a, err := c.Catalog.CreateActivity(ctx, a)
	if err == nil {
		c.put(ctx, contract.InfoKey(a.ID), a, c.ttl)
		c.rdb.Del(ctx, listKey)
		c.publish(ctx, a.ID)
	}
	return a, err
}

// publish tells every instance that activity id changed (package changes).
func (c *ActivityCache) publish(ctx context.Context, id int64) {
	if err := changes.Publish(ctx, c.rdb, changes.Activity(id)); err != nil {
		c.log.Warn("publish a change; the instances poll it", "activity", id, "err", err)
	}
}

func (c *ActivityCache) put(ctx context.Context, key string, v any, ttl time.Duration) {
	b, err := json.Marshal(v)
	if err == nil {
		err = c.rdb.Set(ctx, key, b, ttl).Err()
	}
	if err != nil {
		c.log.Warn("activity cache write", "key", key, "err", err)
	}
}

// CancelActivity cancels the activity in the catalog and drops its cached
// copies.
func (c *ActivityCache) CancelActivity(ctx context.Context, id int64, now time.Time) (flashsale.Activity, error) {
	a, err := c.Catalog.CancelActivity(ctx, id, now)
	if err == nil {
		c.Forget(ctx, id)
	}
	return a, err
}

// Forget drops the cached copies of activity id and the list (two keys in
// two slots: two calls), then tells every instance to drop theirs.
func (c *ActivityCache) Forget(ctx context.Context, id int64) {
	for _, key := range []string{contract.InfoKey(id), listKey} {
		if err := c.rdb.Del(ctx, key).Err(); err != nil {
			c.log.Warn("activity cache drop", "key", key, "err", err)
		}
	}
	c.publish(ctx, id)
}
