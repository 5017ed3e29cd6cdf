package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/rediscluster"
	"github.com/redis/go-redis/v9"
)

// The cluster profile (-cluster) puts the stock and the dtm server's store
// on a Redis Cluster of clusterMasters masters with a replica each, every
// node a redis-server of the run's own with its append-only file fsynced
// before each reply (appendfsync always: dtm's store is on them), failed
// over when silent for a second. Its sales have clusterShards shards, so
// one sale spans several masters.
const (
	clusterMasters = 3
	clusterShards  = 4
)

// dtmStoreKey is a key in the slot of the dtm server's store (prefix
// {dtm}): the faults leave its master alone, since dtm's store does not
// survive the loss of acknowledged writes that asynchronous replication
// allows (docs/architecture.md).
const dtmStoreKey = "{dtm}"

// startCluster starts the nodes and makes them a cluster.
func (s *stack) startCluster(ctx context.Context, o options, ports []int) error {
	var addrs []string
	for i := range 2 * clusterMasters {
		dir := filepath.Join(s.dir, fmt.Sprintf("redis%d", i+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		addr := s.addr(ports[2*i])
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
		p := &proc{
			name: fmt.Sprintf("redis%d", i+1), bin: o.redisServer, log: filepath.Join(dir, "redis.log"),
			args: []string{"--port", itoa(ports[2*i]), "--cluster-port", itoa(ports[2*i+1]), "--bind", "127.0.0.1",
				"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "1000",
				"--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0",
				"--dir", dir, "--save", "", "--daemonize", "no"},
			ready: func(ctx context.Context) error { return c.Ping(ctx).Err() },
		}
		if err := p.startReady(ctx, 30*time.Second); err != nil {
			return err
		}
		s.redisNodes = append(s.redisNodes, p)
		s.nodeAddr = append(s.nodeAddr, addr)
		addrs = append(addrs, addr)
	}
	cli := filepath.Join(filepath.Dir(o.redisServer), "redis-cli")
	if !strings.Contains(o.redisServer, "/") {
		cli = "redis-cli"
	}
	if _, err := rediscluster.Create(ctx, cli, addrs, 1); err != nil {
		return err
	}
	if err := rediscluster.WaitReady(ctx, addrs, 30*time.Second); err != nil {
		return err
	}
	s.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		MaxRetries: -1, ClusterStateReloadInterval: time.Second})
	return nil
}

// clusterVictim picks a master that holds one of the sale's shards and not
// the dtm store, and one of its replicas: the node addresses and procs.
func (s *stack) clusterVictim(ctx context.Context, act int64) (master, replica *proc, err error) {
	c, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return nil, nil, fmt.Errorf("not a cluster")
	}
	dtm, err := c.MasterForKey(ctx, dtmStoreKey)
	if err != nil {
		return nil, nil, err
	}
	for k := range clusterShards {
		m, err := c.MasterForKey(ctx, contract.StockKey(act, k))
		if err != nil {
			return nil, nil, err
		}
		if m.Options().Addr == dtm.Options().Addr {
			continue
		}
		master = s.node(m.Options().Addr)
		// Its replica: the node whose INFO names it as master.
		host, port, _ := strings.Cut(m.Options().Addr, ":")
		for i, a := range s.nodeAddr {
			n := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
			info, _ := n.Info(ctx, "replication").Result()
			n.Close()
			if strings.Contains(info, "master_host:"+host) && strings.Contains(info, "master_port:"+port+"\r") && strings.Contains(info, "master_link_status:up") {
				replica = s.redisNodes[i]
			}
		}
		if master != nil && replica != nil {
			return master, replica, nil
		}
	}
	return nil, nil, fmt.Errorf("no master holds a shard of sale %d without the dtm store, with a synced replica", act)
}

func (s *stack) node(addr string) *proc {
	for i, a := range s.nodeAddr {
		if a == addr {
			return s.redisNodes[i]
		}
	}
	return nil
}

func (s *stack) nodeAddrOf(p *proc) string {
	for i, n := range s.redisNodes {
		if n == p {
			return s.nodeAddr[i]
		}
	}
	return ""
}

// clusterFault injects kill-redis-master (SIGKILL the master, restart it
// after f.down: its replica has taken over, and it comes back as a
// replica) or failover-redis (CLUSTER FAILOVER on the replica: a promotion
// without loss). It reports whether it injected f.
func (in *injector) clusterFault(ctx context.Context, f fault, say func(string, ...any), restart func(*proc)) bool {
	act := in.saleWithStock(ctx, 5*time.Second)
	if act == 0 {
		in.count(in.skipped, f.kind)
		return false
	}
	master, replica, err := in.st.clusterVictim(ctx, act)
	if err != nil {
		say("%s skipped: %v", f.kind, err)
		in.count(in.skipped, f.kind)
		return false
	}
	switch f.kind {
	case "kill-redis-master":
		master.kill()
		in.count(in.injected, f.kind)
		say("SIGKILL %s (%s, master of a shard of sale %d); restart in %s", master.name, in.st.nodeAddrOf(master), act, f.down.Round(time.Millisecond))
		pause(ctx, f.down)
		restart(master)
	case "failover-redis":
		n := redis.NewClient(&redis.Options{Addr: in.st.nodeAddrOf(replica)})
		err := n.Do(ctx, "CLUSTER", "FAILOVER").Err()
		n.Close()
		if err != nil {
			in.fail("CLUSTER FAILOVER on %s: %v", replica.name, err)
			return false
		}
		in.count(in.injected, f.kind)
		say("CLUSTER FAILOVER on %s (replica of %s, master of a shard of sale %d)", replica.name, master.name, act)
		pause(ctx, f.down)
	}
	return true
}
