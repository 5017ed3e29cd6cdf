package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/redis/go-redis/v9"
)

// TestDTMStoreMasterLost: dtm's store lives on a Redis Cluster of the
// test's own (three masters, a replica each) and loses, in a failover,
// the messages of purchases it acknowledged. The replica of the master
// holding the store's slot (the stack's dtm prefix) is stopped (SIGSTOP)
// and its replication link cut, 20 purchases are bought while the order
// service is down (their messages submitted, no order yet), the master is
// SIGKILLed and the replica, continued, takes over (CLUSTER FAILOVER
// TAKEOVER) without those writes. Flashsale is stopped meanwhile, so that
// the test sees dtm answering that it does not know the purchases before
// any repair can run; it fails if dtm still knows them all (the replica
// did not lag: nothing tested). Then flashsale and the order service go
// on: every shopper told 202 ends with exactly one order within 20 s of
// the takeover, reconcile is clean, and flashsale counted its repairs
// (flashsale_repairs_total{kind="purchase_resubmitted"}), started by the
// change of the store's epoch. With IT_REPAIR=off the purchases never
// become orders and the test fails.
func TestDTMStoreMasterLost(t *testing.T) {
	const early, late = 5, 20
	begin := time.Now()
	nodes := startCluster(t, 3, 1)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr)
	}
	fenv, oenv := repairEnv()
	s := newStackWith(t, stackOptions{dtmRedis: strings.Join(addrs, ","), flashsaleEnv: fenv, ordersEnv: oenv})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	slot, err := cc.ClusterKeySlot(ctx, s.dtmPrefix+"_g_x").Result()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := cc.MasterForKey(ctx, s.dtmPrefix+"_g_x")
	if err != nil {
		t.Fatal(err)
	}
	master := clusterNodeAt(t, nodes, mc.Options().Addr)
	replica := replicaOf(t, nodes, master.addr)
	t.Logf("cluster up and stack started in %s; dtm's store (%s, slot %d) on master %s, replica %s",
		time.Since(begin).Round(10*time.Millisecond), s.dtmPrefix, slot, master.addr, replica.addr)

	act := s.NewActivity(early + late + 10)
	var users []string
	for i := range early { // ordered before the loss, and kept by the replica
		u := fmt.Sprintf("keep%d", i)
		s.buyOrder(act, u)
		users = append(users, u)
	}
	mcli := redis.NewClient(&redis.Options{Addr: master.addr})
	defer mcli.Close()
	if n, err := mcli.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("the replica did not acknowledge the first purchases: %d %v", n, err)
	}

	// The replica stops replicating: stopped, and its link cut by the
	// master (a stopped process's socket would still take the master's
	// writes into its kernel buffer, and the replica would read them on
	// SIGCONT).
	s.orders.Kill()
	replica.proc.Pause()
	if err := mcli.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
		t.Fatalf("cut the replication link: %v", err)
	}
	var lost []string
	for i := range late {
		u := fmt.Sprintf("lost%d", i)
		if code, e := s.Buy(act, u); code != http.StatusAccepted {
			t.Fatalf("buy %s: %d %s", u, code, e)
		}
		users = append(users, u)
		lost = append(lost, contract.PurchaseGID(act, u))
	}
	for _, gid := range lost {
		if st := s.dtmStatus(gid); st != dtmcli.StatusSubmitted {
			t.Fatalf("before the failover dtm has %s as %q, want submitted", gid, st)
		}
	}

	// The failover: flashsale stopped first, so that no repair runs before
	// the test has seen what dtm lost.
	s.flashsale.Pause()
	defer s.flashsale.Resume()
	master.proc.Kill()
	replica.proc.Resume()
	killed := time.Now()
	takeover(t, nodes, master, replica, slot)
	took := time.Now()
	t.Logf("master %s SIGKILLed; replica %s serves slot %d %s later", master.addr, replica.addr, slot, took.Sub(killed).Round(10*time.Millisecond))

	// What dtm knows now, flashsale still stopped. dtm's store client
	// (go-redis's cluster client with its default options) reads the
	// slots again only every 60 s: it goes on dialling the dead master
	// until then, and so does the store-epoch route's client. A dtm that
	// does not answer soon is restarted, as an operator would.
	const dtmWait = 5 * time.Second
	qerr := s.dtmAnswers(lost[0], dtmWait)
	answered := qerr == nil
	if !answered {
		t.Logf("dtm does not answer %s after the takeover: restarting it; its last error: %v", dtmWait, qerr)
		s.dtm.Kill()
		startProc(t, s.dtm)
		if qerr := s.dtmAnswers(lost[0], 10*time.Second); qerr != nil {
			t.Fatalf("dtm does not answer after a restart: %v\n%s", qerr, s.dtm.Tail(3000))
		}
	}
	forgot := 0
	for _, gid := range lost {
		if s.dtmStatus(gid) == dtmclient.NoMessage {
			forgot++
		}
	}
	t.Logf("dtm answers %s after the takeover (restarted: %v); it forgot %d of the %d purchases bought while the replica was stopped",
		time.Since(took).Round(10*time.Millisecond), !answered, forgot, late)
	if forgot == 0 {
		t.Fatalf("the new master %s kept every message the old one acknowledged: the replica did not lag, the test tests nothing", replica.addr)
	}
	for i := range early {
		gid := contract.PurchaseGID(act, users[i])
		if st := s.dtmStatus(gid); st != dtmcli.StatusSucceed {
			t.Fatalf("after the failover dtm has %s as %q, want succeed (the replica had it)", gid, st)
		}
	}

	s.flashsale.Resume()
	startProc(t, s.orders)
	in := s.waitOrders(act, early+late, took, 20*time.Second)
	t.Logf("%d orders %s after the takeover", early+late, in.Round(10*time.Millisecond))
	perUser := map[string]int{}
	rows, err := env.db.Query("SELECT user_id, COUNT(*) FROM orders WHERE activity_id = ? GROUP BY user_id", act)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			t.Fatal(err)
		}
		perUser[u] = n
	}
	rows.Close()
	for _, u := range users {
		if perUser[u] != 1 {
			t.Errorf("%s, told 202, has %d orders", u, perUser[u])
		}
	}
	r := s.SettleStores(act, 20*time.Second)
	total := early + late + 10
	if r.LiveOrders != early+late || r.Messages[dtmcli.StatusSucceed] != early+late || int(r.RedisStock) != total-early-late || r.DBStock != total-early-late {
		t.Fatalf("after the repair: %s", r)
	}
	repairs := s.Metric(s.Admin, `flashsale_repairs_total{kind="purchase_resubmitted"}`)
	if repairs <= 0 {
		t.Fatalf("repairs counted: %v, want > 0", repairs)
	}
	changed := s.flashsale.Lines("dtm's store changed")
	if len(changed) == 0 {
		t.Errorf("flashsale logged no change of dtm's store epoch")
	}
	t.Logf("purchase_resubmitted repairs: %v; flashsale saw the store change %d times; settled %s after the takeover",
		repairs, len(changed), time.Since(took).Round(10*time.Millisecond))
}

// clusterNodeAt returns the node of nodes at addr.
func clusterNodeAt(t *testing.T, nodes []clusterNode, addr string) clusterNode {
	t.Helper()
	for _, n := range nodes {
		if n.addr == addr {
			return n
		}
	}
	t.Fatalf("%s is none of the cluster's nodes", addr)
	return clusterNode{}
}

// replicaOf returns the node of nodes that replicates master.
func replicaOf(t *testing.T, nodes []clusterNode, master string) clusterNode {
	t.Helper()
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr})
		info, err := c.Info(context.Background(), "replication").Result()
		c.Close()
		if err != nil {
			t.Fatalf("redis node %s: %v", n.addr, err)
		}
		host, port := "", ""
		for _, line := range strings.Split(info, "\n") {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "master_host:"); ok {
				host = v
			}
			if v, ok := strings.CutPrefix(line, "master_port:"); ok {
				port = v
			}
		}
		if strings.Contains(info, "role:slave") && host+":"+port == master {
			return n
		}
	}
	t.Fatalf("no node replicates %s", master)
	return clusterNode{}
}

// takeover makes replica take over dead's slots (CLUSTER FAILOVER
// TAKEOVER: dead cannot agree) unless it already did by itself, and waits
// until every live node has it serve slot.
func takeover(t *testing.T, nodes []clusterNode, dead, replica clusterNode, slot int64) {
	t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := rc.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err()
		if err == nil {
			break
		}
		if info, _ := rc.Info(ctx, "replication").Result(); strings.Contains(info, "role:master") {
			break // it took over by itself
		}
		if time.Now().After(deadline) {
			t.Fatalf("CLUSTER FAILOVER TAKEOVER on %s: %v", replica.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, n := range nodes {
		if n.addr == dead.addr {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: n.addr})
		for {
			owner := ""
			if shards, err := c.ClusterShards(ctx).Result(); err == nil {
				for _, sh := range shards {
					for _, r := range sh.Slots {
						if r.Start > slot || slot > r.End {
							continue
						}
						for _, n := range sh.Nodes {
							if n.Role == "master" && n.Health == "online" {
								owner = net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
							}
						}
					}
				}
			}
			if owner == replica.addr {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("redis node %s has slot %d served by %q, want %s", n.addr, slot, owner, replica.addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

// dtmAnswers waits up to d until dtm answers a query of gid: it returns
// nil then, else the last query's error.
func (s *stack) dtmAnswers(gid string, d time.Duration) error {
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		_, err := dtmclient.MessageStatus(context.Background(), s.http, dtmclient.ParseGroups(s.dtmURL()), gid)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
