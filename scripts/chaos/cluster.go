package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/rediscluster"
	"github.com/redis/go-redis/v9"
)

// The cluster profile (-cluster) puts the stock and the dtm server's store
// on a Redis Cluster: clusterMasters masters with a replica each for the
// stock, and one more master with its replica that holds dtm's store's
// slot and nothing else. Every node is a redis-server of the run's own
// with its append-only file fsynced before each reply (appendfsync always:
// dtm's store is on them), failed over when silent for a second. Its sales
// have clusterShards shards, so one sale spans several masters.
//
// The rule: dtm's store never shares a master with the stock. A master
// holding both would, in one failover to a replica that lacked its last
// writes, lose a purchase's dtm message and its barrier and unit together:
// nothing durable would remember the purchase, and the services' repair,
// which starts from a barrier or an order, could not see it.
const (
	clusterMasters = 3
	clusterShards  = 4
	// clusterNodes are the stock's masters and replicas, then dtm's
	// store's master and its replica.
	clusterNodes = 2*clusterMasters + 2
)

// dtmStoreKey is a key in the slot of the dtm server's store (prefix
// {dtm}). The faults may hit its master too: a failover there can lose
// writes dtm's store acknowledged (replication is asynchronous), which
// the services repair (lose-dtm-master makes sure some are lost).
const dtmStoreKey = "{dtm}"

// startCluster starts the nodes, makes the first 2*clusterMasters a
// cluster, then gives dtm's store's slot a master of its own: the last two
// nodes join as a master and its replica, and the slot moves to that
// master (it is empty: dtm has not started yet). The ports are two per
// node (client, cluster bus). sales is how many sales the run opens.
func (s *stack) startCluster(ctx context.Context, o options, ports []int, sales int) error {
	if len(ports) < 2*clusterNodes {
		return fmt.Errorf("the cluster needs %d ports, got %d", 2*clusterNodes, len(ports))
	}
	for i := range clusterNodes {
		dir := filepath.Join(s.dir, fmt.Sprintf("redis%d", i+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		addr := s.addr(ports[2*i])
		p := &proc.Process{
			Name: fmt.Sprintf("redis%d", i+1), Path: o.redisServer, Log: filepath.Join(dir, "redis.log"),
			Args: []string{"--port", strconv.Itoa(ports[2*i]), "--cluster-port", strconv.Itoa(ports[2*i+1]), "--bind", "127.0.0.1",
				"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "1000",
				"--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0",
				"--dir", dir, "--save", "", "--daemonize", "no"},
			Ready: proc.Redis(addr),
		}
		s.redisNodes = append(s.redisNodes, p)
		s.nodeAddr = append(s.nodeAddr, addr)
	}
	stock := 2 * clusterMasters
	for _, p := range s.redisNodes[:stock] {
		if err := p.EnsureReady(ctx, stallAfter, 30*time.Second); err != nil {
			return err
		}
	}
	cli := filepath.Join(filepath.Dir(o.redisServer), "redis-cli")
	if !strings.Contains(o.redisServer, "/") {
		cli = "redis-cli"
	}
	if _, err := rediscluster.Create(ctx, cli, s.nodeAddr[:stock], 1); err != nil {
		return err
	}
	if err := rediscluster.WaitReady(ctx, s.nodeAddr[:stock], 30*time.Second); err != nil {
		return err
	}
	for _, p := range s.redisNodes[stock:] {
		if err := p.EnsureReady(ctx, stallAfter, 30*time.Second); err != nil {
			return err
		}
	}
	slot, err := s.dtmMasterOfItsOwn(ctx, ports[2*stock+1], ports[2*stock+3])
	if err != nil {
		return fmt.Errorf("dtm's store's master of its own: %w", err)
	}
	if err := rediscluster.WaitReady(ctx, s.nodeAddr, 30*time.Second); err != nil {
		return err
	}
	if err := s.checkStockSlots(ctx, slot, sales); err != nil {
		return err
	}
	s.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.nodeAddr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		MaxRetries: -1, ClusterStateReloadInterval: time.Second})
	return nil
}

// dtmMasterOfItsOwn joins the last two nodes (their cluster bus ports
// bus7, bus8) to the cluster of the others, makes the last a replica of
// the one before, and moves dtm's store's slot, empty, to that one: the
// steps of a resharding (IMPORTING on the new owner, MIGRATING on the old
// one, then NODE on the new owner, the old one and every other master),
// with no key to migrate. The new owner's NODE bumps its config epoch,
// so that its claim wins on every node, replicas included. It waits until
// every node maps the slot to the new master, which holds no other slot,
// and returns the slot.
func (s *stack) dtmMasterOfItsOwn(ctx context.Context, bus7, bus8 int) (int, error) {
	stock := 2 * clusterMasters
	nodes := make([]*redis.Client, clusterNodes)
	ids := make([]string, clusterNodes)
	for i, a := range s.nodeAddr {
		nodes[i] = redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1})
		defer nodes[i].Close()
		id, err := nodes[i].Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return 0, fmt.Errorf("CLUSTER MYID on %s: %w", a, err)
		}
		ids[i] = id
	}
	seed := nodes[0]
	for i, bus := range map[int]int{stock: bus7, stock + 1: bus8} {
		host, port, _ := strings.Cut(s.nodeAddr[i], ":")
		if err := seed.Do(ctx, "CLUSTER", "MEET", host, port, bus).Err(); err != nil {
			return 0, fmt.Errorf("CLUSTER MEET %s: %w", s.nodeAddr[i], err)
		}
	}
	// Every node knows every other one.
	if err := waitNodes(ctx, "know every node", func() error {
		for i, n := range nodes {
			info, err := n.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(clusterNodes)+"\r") {
				return fmt.Errorf("%s: not cluster_known_nodes:%d", s.nodeAddr[i], clusterNodes)
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	master, replica := nodes[stock], nodes[stock+1]
	newID := ids[stock]
	if err := waitNodes(ctx, "CLUSTER REPLICATE", func() error {
		return replica.Do(ctx, "CLUSTER", "REPLICATE", newID).Err()
	}); err != nil {
		return 0, err
	}
	slot64, err := seed.ClusterKeySlot(ctx, dtmStoreKey).Result()
	if err != nil {
		return 0, err
	}
	slot := int(slot64)
	shards, err := seed.ClusterShards(ctx).Result()
	if err != nil {
		return 0, err
	}
	oldID := slotMaster(shards, slot)
	old := slices.Index(ids, oldID)
	if old < 0 || old >= stock {
		return 0, fmt.Errorf("slot %d of %s: owner %q is not one of the stock's nodes", slot, dtmStoreKey, oldID)
	}
	setslot := func(n int, args ...any) error {
		args = append([]any{"CLUSTER", "SETSLOT", slot}, args...)
		if err := nodes[n].Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("%v on %s: %w", args, s.nodeAddr[n], err)
		}
		return nil
	}
	steps := []error{
		setslot(stock, "IMPORTING", oldID),
		setslot(old, "MIGRATING", newID),
		setslot(stock, "NODE", newID),
		setslot(old, "NODE", newID),
	}
	for i, n := range nodes[:stock] {
		if i == old {
			continue
		}
		role, err := n.Do(ctx, "ROLE").Slice()
		if err != nil {
			return 0, fmt.Errorf("ROLE on %s: %w", s.nodeAddr[i], err)
		}
		if len(role) > 0 && role[0] == "master" {
			steps = append(steps, setslot(i, "NODE", newID))
		}
	}
	if err := errors.Join(steps...); err != nil {
		return 0, err
	}
	// Every node maps the slot to the new master, which holds only it.
	err = waitNodes(ctx, "move slot "+strconv.Itoa(slot), func() error {
		for i, n := range nodes {
			shards, err := n.ClusterShards(ctx).Result()
			if err != nil {
				return err
			}
			if id := slotMaster(shards, slot); id != newID {
				return fmt.Errorf("%s maps slot %d to %q, not %s", s.nodeAddr[i], slot, id, newID)
			}
			for _, sh := range shards {
				for _, r := range sh.Slots {
					if shardMaster(sh) == newID && (r.Start != int64(slot) || r.End != int64(slot)) {
						return fmt.Errorf("%s: %s holds slots %d-%d", s.nodeAddr[i], newID, r.Start, r.End)
					}
				}
			}
			info, err := n.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("%s: not cluster_state:ok", s.nodeAddr[i])
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if role, err := master.Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
		return 0, fmt.Errorf("%s, dtm's store's master, is not a master: %v %v", s.nodeAddr[stock], role, err)
	}
	return slot, nil
}

// slotMaster returns the id of the master of slot in shards ("" if none).
func slotMaster(shards []redis.ClusterShard, slot int) string {
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if r.Start <= int64(slot) && int64(slot) <= r.End {
				return shardMaster(sh)
			}
		}
	}
	return ""
}

// shardMaster returns the id of sh's master ("" if none).
func shardMaster(sh redis.ClusterShard) string {
	for _, n := range sh.Nodes {
		if n.Role == "master" {
			return n.ID
		}
	}
	return ""
}

// waitNodes retries f for up to 30 s, until it succeeds.
func waitNodes(ctx context.Context, what string, f func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// saleBound is the highest activity id whose stock hash tags the start
// checks, for a run that opens sales sales: the ids come from the run's
// own database, one per sale, with room for the ones a create retried
// after a lost answer skips.
func saleBound(sales int) int64 { return int64(max(40, 4*sales+40)) }

// checkStockSlots fails when a hash tag of the stock of an activity up to
// saleBound(sales) is in slot, dtm's store's: that sale would share dtm's
// store's master, which the rule forbids.
func (s *stack) checkStockSlots(ctx context.Context, slot, sales int) error {
	c := redis.NewClient(&redis.Options{Addr: s.nodeAddr[0], DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1})
	defer c.Close()
	bound := saleBound(sales)
	pipe := c.Pipeline()
	cmds := map[string]*redis.IntCmd{}
	for act := int64(1); act <= bound; act++ {
		for k := range clusterShards {
			key := contract.StockKey(act, k)
			cmds[key] = pipe.ClusterKeySlot(ctx, key)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("CLUSTER KEYSLOT of the stock's keys: %w", err)
	}
	var bad []string
	for key, cmd := range cmds {
		if int(cmd.Val()) == slot {
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("the stock's keys %s are in slot %d, dtm's store's (%s): their sales would share its master, "+
			"and dtm's store must never share a master with the stock", strings.Join(bad, ", "), slot, dtmStoreKey)
	}
	s.saleBound = bound
	return nil
}

// checkSale fails for a sale of the cluster profile beyond the activities
// whose stock's slots the start checked.
func (s *stack) checkSale(act int64) error {
	if len(s.nodeAddr) == 0 || act <= s.saleBound {
		return nil
	}
	return fmt.Errorf("activity %d: beyond %d, the last activity whose stock the start checked against dtm's store's slot", act, s.saleBound)
}

// clusterVictim picks a master, and one of its replicas in sync: for
// lose-dtm-master the master of dtm's store (which holds no stock),
// otherwise one of the masters that hold a shard of sale act or dtm's
// store, the pick-th (modulo their
// number; the next one when it has no replica in sync). dtm tells whether
// it holds dtm's store.
func (s *stack) clusterVictim(ctx context.Context, act int64, kind string, pick int) (master, replica *proc.Process, dtm bool, err error) {
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

func (s *stack) node(addr string) *proc.Process {
	for i, a := range s.nodeAddr {
		if a == addr {
			return s.redisNodes[i]
		}
	}
	return nil
}

func (s *stack) nodeAddrOf(p *proc.Process) string {
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
func (in *injector) clusterFault(ctx context.Context, f fault, say func(string, ...any), restart func(*proc.Process)) bool {
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
		master.Kill()
		in.count(in.injected, f.kind)
		say("SIGKILL %s (%s, %s); restart in %s", master.Name, in.st.nodeAddrOf(master), what, f.down.Round(time.Millisecond))
		pause(ctx, f.down)
		restart(master)
	case "failover-redis":
		n := redis.NewClient(&redis.Options{Addr: in.st.nodeAddrOf(replica)})
		err := n.Do(ctx, "CLUSTER", "FAILOVER").Err()
		n.Close()
		if err != nil {
			in.fail("CLUSTER FAILOVER on %s: %v", replica.Name, err)
			return false
		}
		in.count(in.injected, f.kind)
		say("CLUSTER FAILOVER on %s (replica of %s, %s)", replica.Name, master.Name, what)
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
func (in *injector) loseMaster(ctx context.Context, f fault, master, replica *proc.Process, say func(string, ...any), restart func(*proc.Process)) bool {
	st := in.st
	if err := replica.Pause(); err != nil {
		in.count(in.skipped, f.kind)
		return false
	}
	m := redis.NewClient(&redis.Options{Addr: st.nodeAddrOf(master), DialTimeout: time.Second, MaxRetries: -1})
	n, err := m.ClientKillByFilter(ctx, "TYPE", "replica").Result()
	m.Close()
	if err != nil || n == 0 {
		if err := replica.Resume(); err != nil {
			in.fail("SIGCONT %s: %v", replica.Name, err)
		}
		say("%s skipped: CLIENT KILL TYPE replica on %s: %d, %v", f.kind, master.Name, n, err)
		in.count(in.skipped, f.kind)
		return false
	}
	in.count(in.injected, f.kind)
	say("SIGSTOP %s and cut its link to %s (master of dtm's store); the sale goes on for %s", replica.Name, master.Name, f.lag.Round(time.Millisecond))
	pause(ctx, f.lag)
	master.Kill()
	if err := replica.Resume(); err != nil {
		in.fail("SIGCONT %s: %v", replica.Name, err)
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
		in.fail("CLUSTER FAILOVER TAKEOVER on %s: %v", replica.Name, ferr)
	}
	say("SIGKILL %s, SIGCONT %s and CLUSTER FAILOVER TAKEOVER on it: dtm's store without the writes of the last %s; restart %s in %s",
		master.Name, replica.Name, f.lag.Round(time.Millisecond), master.Name, f.down.Round(time.Millisecond))
	pause(ctx, f.down)
	restart(master)
	return true
}
