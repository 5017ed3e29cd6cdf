package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
// {dtm}). The faults may hit its master too: a failover there can lose
// writes dtm's store acknowledged (replication is asynchronous), which
// the services repair (lose-dtm-master makes sure some are lost).
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

// clusterVictim picks a master, and one of its replicas in sync: for
// lose-dtm-master the master of dtm's store, otherwise one of the masters
// that hold a shard of sale act or dtm's store, the pick-th (modulo their
// number; the next one when it has no replica in sync). dtm tells whether
// it holds dtm's store.
func (s *stack) clusterVictim(ctx context.Context, act int64, kind string, pick int) (master, replica *proc, dtm bool, err error) {
	c, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return nil, nil, false, fmt.Errorf("not a cluster")
	}
	store, err := c.MasterForKey(ctx, dtmStoreKey)
	if err != nil {
		return nil, nil, false, err
	}
	addrs := []string{store.Options().Addr}
	if kind != "lose-dtm-master" {
		for k := range clusterShards {
			m, err := c.MasterForKey(ctx, contract.StockKey(act, k))
			if err != nil {
				return nil, nil, false, err
			}
			if !slices.Contains(addrs, m.Options().Addr) {
				addrs = append(addrs, m.Options().Addr)
			}
		}
	}
	// The pick-th, or the next one with a replica in sync.
	for i := range addrs {
		addr := addrs[(pick+i)%len(addrs)]
		master, replica = s.node(addr), nil
		// Its replica: the node whose INFO names it as master.
		host, port, _ := strings.Cut(addr, ":")
		for j, a := range s.nodeAddr {
			n := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
			info, _ := n.Info(ctx, "replication").Result()
			n.Close()
			if strings.Contains(info, "master_host:"+host) && strings.Contains(info, "master_port:"+port+"\r") && strings.Contains(info, "master_link_status:up") {
				replica = s.redisNodes[j]
			}
		}
		if master != nil && replica != nil {
			return master, replica, addr == store.Options().Addr, nil
		}
	}
	return nil, nil, false, fmt.Errorf("no master of %s has a replica in sync", strings.Join(addrs, ", "))
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
// replica), failover-redis (CLUSTER FAILOVER on the replica: a promotion
// without loss) or lose-dtm-master (loseMaster). It reports whether it
// injected f.
func (in *injector) clusterFault(ctx context.Context, f fault, say func(string, ...any), restart func(*proc)) bool {
	act := in.saleWithStock(ctx, 5*time.Second)
	if act == 0 {
		in.count(in.skipped, f.kind)
		return false
	}
	master, replica, dtm, err := in.st.clusterVictim(ctx, act, f.kind, f.pick)
	if err != nil {
		say("%s skipped: %v", f.kind, err)
		in.count(in.skipped, f.kind)
		return false
	}
	what := fmt.Sprintf("master of a shard of sale %d", act)
	if dtm {
		what = "master of dtm's store"
		if f.kind != "failover-redis" {
			// A failover there may lose what dtm's store acknowledged.
			in.st.storeLosses.Add(1)
		}
	}
	switch f.kind {
	case "kill-redis-master":
		master.kill()
		in.count(in.injected, f.kind)
		say("SIGKILL %s (%s, %s); restart in %s", master.name, in.st.nodeAddrOf(master), what, f.down.Round(time.Millisecond))
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
		say("CLUSTER FAILOVER on %s (replica of %s, %s)", replica.name, master.name, what)
		pause(ctx, f.down)
	case "lose-dtm-master":
		return in.loseMaster(ctx, f, master, replica, say, restart)
	}
	return true
}

// loseMaster injects lose-dtm-master: the master of dtm's store dies with
// writes it acknowledged that its replica never got, and the replica takes
// over without them. The replica is SIGSTOPped and its replication link
// cut on the master (CLIENT KILL TYPE replica: what the stopped replica
// has not read yet of the link still reaches it, nothing after), the sale
// goes on for f.lag, the master is SIGKILLed, the replica SIGCONTed and
// promoted (CLUSTER FAILOVER TAKEOVER, unless the cluster elected it
// first), and the old master restarted after f.down: it rejoins as the
// new master's replica and drops the writes only it had.
func (in *injector) loseMaster(ctx context.Context, f fault, master, replica *proc, say func(string, ...any), restart func(*proc)) bool {
	st := in.st
	if err := replica.stop(); err != nil {
		in.count(in.skipped, f.kind)
		return false
	}
	m := redis.NewClient(&redis.Options{Addr: st.nodeAddrOf(master), DialTimeout: time.Second, MaxRetries: -1})
	n, err := m.ClientKillByFilter(ctx, "TYPE", "replica").Result()
	m.Close()
	if err != nil || n == 0 {
		if err := replica.cont(); err != nil {
			in.fail("SIGCONT %s: %v", replica.name, err)
		}
		say("%s skipped: CLIENT KILL TYPE replica on %s: %d, %v", f.kind, master.name, n, err)
		in.count(in.skipped, f.kind)
		return false
	}
	in.count(in.injected, f.kind)
	say("SIGSTOP %s and cut its link to %s (master of dtm's store); the sale goes on for %s", replica.name, master.name, f.lag.Round(time.Millisecond))
	pause(ctx, f.lag)
	master.kill()
	if err := replica.cont(); err != nil {
		in.fail("SIGCONT %s: %v", replica.name, err)
	}
	r := redis.NewClient(&redis.Options{Addr: st.nodeAddrOf(replica), DialTimeout: time.Second, MaxRetries: -1})
	defer r.Close()
	var ferr error
	for try := 0; try < 20; try++ {
		ferr = r.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err()
		if ferr == nil || strings.Contains(ferr.Error(), "to a replica") || !pause(ctx, 250*time.Millisecond) {
			break // promoted, or already a master (elected)
		}
	}
	if ferr != nil && !strings.Contains(ferr.Error(), "to a replica") {
		in.fail("CLUSTER FAILOVER TAKEOVER on %s: %v", replica.name, ferr)
	}
	say("SIGKILL %s, SIGCONT %s and CLUSTER FAILOVER TAKEOVER on it: dtm's store without the writes of the last %s; restart %s in %s",
		master.name, replica.name, f.lag.Round(time.Millisecond), master.name, f.down.Round(time.Millisecond))
	pause(ctx, f.down)
	restart(master)
	return true
}
