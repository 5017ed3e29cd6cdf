// Package rediscluster makes a Redis Cluster of running redis-server nodes
// (started with cluster-enabled) and waits until it can serve and fail
// over: for the scale-out layout (scripts/cluster), the chaos suite's
// cluster profile and the integration tests.
package rediscluster

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Create joins the nodes at addrs (host:port) into a cluster of
// len(addrs)/(1+replicas) masters with replicas each, by redis-cli
// --cluster create (cli is the redis-cli program), unless the first node
// already knows every one of them. It reports whether it created one.
func Create(ctx context.Context, cli string, addrs []string, replicas int) (bool, error) {
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return false, fmt.Errorf("redis node %s: %w", addrs[0], err)
	}
	if strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(addrs))+"\r") {
		return false, nil
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return false, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return true, nil
}

// WaitReady waits up to d until every node reports the cluster ok and
// every replica has synced with its master: a replica cannot take over
// before its first sync.
func WaitReady(ctx context.Context, addrs []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
		for {
			info, _ := c.ClusterInfo(ctx).Result()
			repl, _ := c.Info(ctx, "replication").Result()
			if strings.Contains(info, "cluster_state:ok") && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up")) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				c.Close()
				return fmt.Errorf("redis node %s: not ok and synced after %s:\n%s", a, d, repl)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	return nil
}
