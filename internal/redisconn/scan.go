package redisconn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ScanValues calls fn with every string key that starts with prefix and
// its value, on a single server or on every master of a cluster (a key of
// one hash tag lives on one of them). fn is never called concurrently. A
// key deleted during the scan is skipped.
func ScanValues(ctx context.Context, rdb redis.UniversalClient, prefix string, fn func(key, value string)) error {
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			v, err := c.Get(ctx, it.Val()).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return err
			}
			mu.Lock()
			fn(it.Val(), v)
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("unsupported Redis client %T", rdb)
	}
	if err != nil {
		return fmt.Errorf("scan %s*: %w", prefix, err)
	}
	return nil
}
