package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/rediscluster"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/redis/go-redis/v9"
)

// redisCluster starts a Redis Cluster of n masters on free ports, each a
// redis-server process of the test's own, and returns their addresses.
func redisCluster(t *testing.T, n int) []string {
	var addrs []string
	for _, node := range startCluster(t, n, 0) {
		addrs = append(addrs, node.addr)
	}
	return addrs
}

// clusterNode is one redis-server of a test's cluster.
type clusterNode struct {
	addr string
	proc *proc.Process
}

// startCluster starts a Redis Cluster of masters, each with replicas of
// its own, every node a redis-server process of the test's own on free
// ports, persisting to an append-only file as a production node does; a
// node not heard from for a second is failed over.
func startCluster(t *testing.T, masters, replicas int) []clusterNode {
	t.Helper()
	bins := needBinaries(t, "redis-server", "redis-cli")
	bin, cli := bins[0], bins[1]
	var nodes []clusterNode
	var addrs []string
	for i := 0; i < masters*(1+replicas); i++ {
		// The cluster bus port is chosen too: its default, port+10000,
		// falls in the kernel's ephemeral range, where any outgoing
		// connection may hold it (a node then exits at start).
		port, bus := testenv.FreePort(t), testenv.FreePort(t)
		dir := t.TempDir()
		p := &proc.Process{Name: fmt.Sprintf("redis-node%d", i), Path: bin, Dir: dir, Log: filepath.Join(dir, "redis.log"),
			Args: []string{"--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(bus), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "1000",
				"--save", "", "--appendonly", "yes", "--repl-diskless-sync-delay", "0", "--dir", dir},
			Ready: proc.TCP("127.0.0.1:" + strconv.Itoa(port))}
		t.Cleanup(func() { p.Kill() })
		startProc(t, p)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		nodes = append(nodes, clusterNode{addr: addr, proc: p})
		addrs = append(addrs, addr)
	}
	ctx := context.Background()
	if _, err := rediscluster.Create(ctx, cli, addrs, replicas); err != nil {
		t.Fatal(err)
	}
	if err := rediscluster.WaitReady(ctx, addrs, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// TestScaleOut is the scale-out mode (docs/architecture.md) on loopback: the stock on a Redis
// Cluster of three masters, two flashsale instances each talking to its own
// dtm server, both dtm servers on one shared store. Sales whose keys live on
// different nodes sell exactly their units across both instances, with an
// admin's addition and a cancellation in between, and I1-I5 hold, read
// from the cluster.
func TestScaleOut(t *testing.T) {
	nodes := redisCluster(t, 3)
	s := newStack(t)
	// A second dtm server on the first one's store (same Redis, same prefix).
	dtm2Port := testenv.FreePort(t)
	args := append([]string(nil), s.dtm.Args...)
	for i := range args {
		switch args[i] {
		case "-http-port":
			args[i+1] = strconv.Itoa(dtm2Port)
		case "-grpc-port":
			args[i+1] = strconv.Itoa(testenv.FreePort(t))
		case "-dir":
			args[i+1] = t.TempDir()
		}
	}
	dtm2 := s.newProc("dtm", args, nil)
	dtm2URL := fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", dtm2Port)
	dtm2.Name, dtm2.Log, dtm2.Ready = "dtm2", filepath.Join(s.dir, "dtm2.log"), proc.HTTP(dtm2URL+"/version")
	t.Cleanup(func() { dtm2.Kill() })
	startProc(t, dtm2)

	cluster := "REDIS_ADDR=" + strings.Join(nodes, ",")
	a := s.addFlashsale("flashsale-a", cluster)
	b := s.addFlashsale("flashsale-b", cluster, "DTM_SERVER="+dtm2URL)
	insts := []*instance{a, b}

	rdb := redisconn.Open(redisconn.Options{Addrs: strings.Join(nodes, ",")})
	defer rdb.Close()
	cc := rdb.(*redis.ClusterClient)

	// Activities until their stock keys sit on at least two nodes.
	var acts []int64
	onNode := map[string]bool{}
	for len(acts) < 6 && (len(acts) < 3 || len(onNode) < 2) {
		id := a.NewActivity(30)
		acts = append(acts, id)
		node, err := cc.MasterForKey(context.Background(), contract.StockKey(id, 0))
		if err != nil {
			t.Fatal(err)
		}
		onNode[node.Options().Addr] = true
	}
	if len(onNode) < 2 {
		t.Fatalf("the stock keys of %d activities all on one node", len(acts))
	}

	// 100 buyers per activity for 30 units, alternating instances; the
	// first activity gets 10 more units, the last is cancelled after its
	// first 20 buyers.
	first, last := acts[0], acts[len(acts)-1]
	if r := b.Adjust(first, 10, "cluster_add"); r.StatusCode() != http.StatusOK {
		t.Fatalf("adjust on the cluster: %s", saletest.Show(r))
	}
	accepted := map[int64]int{}
	var mu sync.Mutex
	wave := func(from, to int) {
		var wg sync.WaitGroup
		for _, act := range acts {
			for i := from; i < to; i++ {
				wg.Add(1)
				go func(act int64, i int) {
					defer wg.Done()
					code, e := insts[i%2].Buy(act, fmt.Sprintf("c%d", i))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case code == http.StatusAccepted:
						accepted[act]++
					case act == last && from > 0 && (code != http.StatusGone || e != api.ErrorCodeEnded):
						t.Errorf("a buy after the cancel: %d %s, want 410 ended", code, e)
					}
				}(act, i)
			}
		}
		wg.Wait()
	}
	wave(0, 20)
	if r := saletest.Got(a.Admin.CancelActivityWithResponse(t.Context(), last)); r.StatusCode() != http.StatusOK {
		t.Fatalf("cancel on the cluster: %s", saletest.Show(r))
	}
	beforeCancel := accepted[last]
	wave(20, 100)
	if accepted[last] != beforeCancel || beforeCancel != 20 {
		t.Fatalf("the cancelled activity: %d accepted before the cancel (want 20), %d in all", beforeCancel, accepted[last])
	}
	src := reconcile.Sources{Redis: rdb, DB: env.db, DTM: s.dtmURL(), HTTP: s.http}
	for _, act := range acts {
		want := 30
		if act == first {
			want = 40
		}
		if act != last && accepted[act] != want {
			t.Fatalf("activity %d: %d purchases accepted, want %d", act, accepted[act], want)
		}
		var r reconcile.Report
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			var err error
			if r, err = reconcile.Check(context.Background(), src, act); err != nil {
				t.Fatalf("reconcile on the cluster: %v", err)
			}
			if r.Unsettled() == 0 && r.OK() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("activity %d not settled:\n%s", act, r)
			}
		}
		if r.LiveOrders != accepted[act] || int(r.RedisStock) != r.Total-accepted[act] {
			t.Fatalf("activity %d: %d accepted, reconciled %s", act, accepted[act], r)
		}
	}
	t.Logf("%d activities on %d of 3 nodes, purchases accepted %v", len(acts), len(onNode), accepted)
}
