package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/rediscluster"
)

// up starts whatever of the layout is not running, in order: the Redis
// nodes and the cluster, the dtm groups, the order services, the
// flashsale instances, the balancer.
func up(ctx context.Context, o options, getenv func(string) string) error {
	l := o.layout
	for _, v := range []string{"FLASHSALE_JWT_SECRET", "FLASHSALE_ADMIN_TOKEN"} {
		if len(getenv(v)) < 16 {
			return fmt.Errorf("%s must be set, at least 16 characters (as for scripts/services-up)", v)
		}
	}
	progs := map[string]string{}
	for _, name := range []string{"redis-server", "redis-cli", "haproxy"} {
		p, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("%s is not on PATH (Debian: apt-get install redis-server haproxy)", name)
		}
		progs[name] = p
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	for _, sub := range []string{"bin", "logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	key, err := internalKey(dir, getenv)
	if err != nil {
		return err
	}
	fmt.Println("cluster-up: building dtm, flashsale, orders into", filepath.Join(dir, "bin"))
	if err := proc.Build(filepath.Join(dir, "bin"), "", "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders"); err != nil {
		return err
	}
	bin := func(name string) string { return filepath.Join(dir, "bin", name) }

	for i := range l.nodes() {
		node := filepath.Join(dir, fmt.Sprintf("redis%d", i))
		if err := os.MkdirAll(node, 0o755); err != nil {
			return err
		}
		if err := start(ctx, dir, process{name: fmt.Sprintf("redis%d", i), bin: progs["redis-server"], ports: []int{l.redisPort(i), l.busPort(i)},
			args: []string{"--port", strconv.Itoa(l.redisPort(i)), "--cluster-port", strconv.Itoa(l.busPort(i)), "--bind", "127.0.0.1",
				"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(node, "nodes.conf"), "--cluster-node-timeout", "2000",
				"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", node}}); err != nil {
			return err
		}
	}
	if err := makeCluster(ctx, l, progs["redis-cli"]); err != nil {
		return err
	}
	// dtm's stores: a Redis of their own, each group under its prefix, its
	// writes fsynced before the reply. Never on the stock's masters: one
	// failover there would lose a purchase's message and its unit's
	// barrier together (docs/durability.md).
	dtmRedis := filepath.Join(dir, "dtm-redis")
	if err := os.MkdirAll(dtmRedis, 0o755); err != nil {
		return err
	}
	if err := start(ctx, dir, process{name: "dtm-redis", bin: progs["redis-server"], ports: []int{l.dtmRedisPort()},
		args: []string{"--port", strconv.Itoa(l.dtmRedisPort()), "--bind", "127.0.0.1",
			"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", dtmRedis}}); err != nil {
		return err
	}
	for g := range l.groups {
		dtmDir := filepath.Join(dir, fmt.Sprintf("dtm%d", g))
		if err := os.MkdirAll(dtmDir, 0o755); err != nil {
			return err
		}
		if err := start(ctx, dir, process{name: fmt.Sprintf("dtm%d", g), bin: bin("dtm"), ports: []int{l.dtmPort(g), l.dtmPort(g) + 1},
			args: []string{"-redis", addr(l.dtmRedisPort()), "-redis-prefix", storePrefix(g), "-http-port", strconv.Itoa(l.dtmPort(g)),
				"-grpc-port", strconv.Itoa(l.dtmPort(g) + 1), "-dir", dtmDir, "-log-level", "warn"},
			ready: proc.HTTP("http://" + addr(l.dtmPort(g)) + "/api/dtmsvr/version")}); err != nil {
			return err
		}
	}
	common := []string{"MYSQL_DSN=" + o.mysqlDSN, "DTM_SERVER=" + l.dtmServers(), contract.KeyEnv + "=" + key,
		"ORDERS_URL=http://" + addr(l.ordersP), "FLASHSALE_INTERNAL_URL=http://" + addr(l.internal)}
	for i := range l.orders {
		if err := start(ctx, dir, process{name: fmt.Sprintf("orders%d", i), bin: bin("orders"), ports: []int{l.ordersPort(i)},
			env:   append([]string{"ORDERS_ADDR=" + addr(l.ordersPort(i))}, common...),
			ready: proc.HTTP("http://" + addr(l.ordersPort(i)) + "/readyz")}); err != nil {
			return err
		}
	}
	for i := range l.flashsale {
		sp, ap, ip := l.flashsalePorts(i)
		if err := start(ctx, dir, process{name: fmt.Sprintf("flashsale%d", i), bin: bin("flashsale"), ports: []int{sp, ap, ip},
			env: append([]string{"FLASHSALE_ADDR=" + addr(sp), "FLASHSALE_ADMIN_ADDR=" + addr(ap), "FLASHSALE_INTERNAL_ADDR=" + addr(ip),
				"REDIS_ADDR=" + l.redisAddrs(), "FLASHSALE_TRUSTED_PROXIES=127.0.0.1",
				"FLASHSALE_JWT_SECRET=" + getenv("FLASHSALE_JWT_SECRET"), "FLASHSALE_ADMIN_TOKEN=" + getenv("FLASHSALE_ADMIN_TOKEN")}, common...),
			ready: proc.HTTP("http://" + addr(sp) + "/readyz")}); err != nil {
			return err
		}
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(l.balancer()), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, progs["haproxy"], "-c", "-f", cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -c: %v\n%s", err, out)
	}
	if err := start(ctx, dir, process{name: "haproxy", bin: progs["haproxy"], args: []string{"-db", "-f", cfg},
		ports: []int{l.shopper, l.admin, l.internal, l.ordersP}, ready: proc.HTTP("http://" + addr(l.shopper) + "/readyz")}); err != nil {
		return err
	}
	fmt.Printf(`cluster-up: ready.
  shopper API  http://%s:%d   (HAProxy over %d flashsale instances)
  admin API    http://%s:%d
  dtm groups   %s
  Redis        %s
  logs         %s
  stop with    scripts/cluster-down
`, l.host, l.shopper, l.flashsale, l.host, l.admin, l.dtmServers(), l.redisAddrs(), filepath.Join(dir, "logs"))
	return nil
}

// makeCluster joins the nodes into a cluster unless they are one already,
// then waits until every node agrees and every replica has synced.
func makeCluster(ctx context.Context, l layout, cli string) error {
	addrs := strings.Split(l.redisAddrs(), ",")
	created, err := rediscluster.Create(ctx, cli, addrs, l.replicas)
	if err != nil {
		return err
	}
	if created {
		fmt.Printf("cluster-up: Redis Cluster of %d masters, %d replicas each\n", l.masters, l.replicas)
	}
	return rediscluster.WaitReady(ctx, addrs, 60*time.Second)
}

// internalKey returns FLASHSALE_INTERNAL_KEY, or the key kept in the run
// directory, made at the first up.
func internalKey(dir string, getenv func(string) string) (string, error) {
	if k := getenv(contract.KeyEnv); k != "" {
		if len(k) < 32 {
			return "", fmt.Errorf("%s must be at least 32 bytes", contract.KeyEnv)
		}
		return k, nil
	}
	f := filepath.Join(dir, "internal.key")
	if b, err := os.ReadFile(f); err == nil && len(b) >= 32 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	rand.Read(b)
	k := hex.EncodeToString(b)
	return k, os.WriteFile(f, []byte(k+"\n"), 0o600)
}

// down stops the layout; with -wipe it deletes the run directory's data.
func down(o options) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := stopAll(dir); err != nil {
		return err
	}
	if o.wipe {
		nodes, _ := filepath.Glob(filepath.Join(dir, "redis*"))
		for _, n := range nodes {
			if err := os.RemoveAll(n); err != nil {
				return err
			}
		}
		fmt.Println("cluster-down: wiped the Redis nodes' data in", dir)
	}
	return nil
}
