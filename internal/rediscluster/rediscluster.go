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
	// redis-cli introduces the nodes once (CLUSTER MEET) and waits for
	// them to join, for ever. A handshake that does not finish within the
	// node timeout (a loaded machine) is dropped, and the join never
	// comes: so while it waits, the first node meets every node it does
	// not know yet again, and the wait is bounded.
	cctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	go meetAgain(cctx, c, addrs)
	if out, err := exec.CommandContext(cctx, cli, args...).CombinedOutput(); err != nil {
		return false, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return true, nil
}

// createTimeout bounds the creation of a cluster.
const createTimeout = 2 * time.Minute

// meetAgain has first, the first node, meet every node of addrs it does
// not know, every two seconds until ctx ends. A node it knows already is
// not met again: CLUSTER MEET of a known node is harmless but not needed.
func meetAgain(ctx context.Context, first *redis.Client, addrs []string) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		known, err := first.ClusterNodes(ctx).Result()
		if err != nil {
			continue
		}
		for _, a := range addrs[1:] {
			if strings.Contains(known, " "+a+"@") {
				continue
			}
			n := redis.NewClient(&redis.Options{Addr: a})
			bus, err := n.ConfigGet(ctx, "cluster-port").Result()
			n.Close()
			host, port, _ := strings.Cut(a, ":")
			if err != nil {
				continue
			}
			meet := []any{"CLUSTER", "MEET", host, port}
			if b := bus["cluster-port"]; b != "" && b != "0" { // 0: the default, port+10000
				meet = append(meet, b)
			}
			first.Do(ctx, meet...)
		}
	}
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
