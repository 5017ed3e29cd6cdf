// Package redisconn opens the project's Redis clients: one node, or a Redis
// Cluster when several addresses are given.
package redisconn

import (
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options addresses a Redis server, or a cluster when Addrs names more than
// one node.
type Options struct {
	Addrs    string // comma-separated host:port list
	Password string
	DB       int // ignored by a cluster
}

// Open returns a client for o: a cluster client for several addresses, a
// single-node client otherwise. Timeouts are short: a purchase that cannot
// reach Redis fails fast with 503 rather than queueing.
func Open(o Options) redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:        strings.Split(o.Addrs, ","),
		Password:     o.Password,
		DB:           o.DB,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		PoolSize:     256,
		MinIdleConns: 16,
	})
}
