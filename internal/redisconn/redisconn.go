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

// ClusterStateReload is how often a cluster client reads the cluster's
// slots again. go-redis reads them again at once on a MOVED answer, but a
// master that died answers nothing: until the next periodic read (60 s by
// default) every command for its slots goes on failing against it, long
// after its replica took over (about 3 s with a node timeout of 1 s).
const ClusterStateReload = time.Second

// Open returns a client for o: a cluster client for several addresses, a
// single-node client otherwise. Timeouts are short: a purchase that cannot
// reach Redis fails fast with 503 rather than queueing.
func Open(o Options) redis.UniversalClient {
	u := &redis.UniversalOptions{
		Addrs:        strings.Split(o.Addrs, ","),
		Password:     o.Password,
		DB:           o.DB,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		PoolSize:     256,
		MinIdleConns: 16,
	}
	if len(u.Addrs) > 1 {
		c := u.Cluster()
		c.ClusterStateReloadInterval = ClusterStateReload
		return redis.NewClusterClient(c)
	}
	return redis.NewUniversalClient(u)
}
