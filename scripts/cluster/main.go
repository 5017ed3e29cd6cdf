// Command cluster starts and stops the scale-out layout on this machine's
// loopback, each process on its own (scripts/cluster-up and
// scripts/cluster-down run it):
//
//	go run ./scripts/cluster up     # or scripts/cluster-up
//	go run ./scripts/cluster down   # or scripts/cluster-down
//
// The layout: a Redis Cluster (3 masters with a replica each, append-only
// files fsynced before each reply, since the dtm groups' stores are on it:
// docs/durability.md), dtm groups (2; each its own store prefix on the
// cluster), order services (2) and flashsale instances (2), and HAProxy in
// front of them: the shopper port by weight, the admin port, and the two ports the dtm servers
// call back (flashsale's internal listeners; the order services). Every
// flashsale and order instance reaches the others through the balancer, so
// any instance may die. MySQL is the machine's (MYSQL_DSN).
//
// It needs redis-server, redis-cli and haproxy on PATH (Debian: apt-get
// install redis-server haproxy), FLASHSALE_JWT_SECRET and
// FLASHSALE_ADMIN_TOKEN (16 characters or more) like scripts/services-up,
// and keeps binaries, logs, pid files and data under -dir. Running up again
// starts only what is not running; down stops everything it started, and
// -wipe also deletes the data (the cluster's nodes and append-only files).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// options are a run's flags.
type options struct {
	dir, mysqlDSN string
	wipe          bool
	layout        layout
}

func parse(args []string, getenv func(string) string) (string, options, error) {
	if len(args) == 0 || args[0] != "up" && args[0] != "down" {
		return "", options{}, errors.New("usage: cluster up|down [flags] (-h for the flags)")
	}
	o := options{}
	l := &o.layout
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", ".run/cluster", "run directory: binaries, logs, pid files, data")
	fs.StringVar(&o.mysqlDSN, "mysql", orDefault(getenv("MYSQL_DSN"), "root@tcp(127.0.0.1:3306)/flashsale"), "MySQL DSN (MYSQL_DSN)")
	fs.BoolVar(&o.wipe, "wipe", false, "down: also delete the data (the cluster is made anew at the next up)")
	fs.IntVar(&l.masters, "masters", 3, "Redis Cluster masters")
	fs.IntVar(&l.replicas, "replicas", 1, "replicas of each master")
	fs.IntVar(&l.groups, "dtm-groups", 2, "dtm groups (DTM_SERVER lists them all)")
	fs.IntVar(&l.orders, "orders", 2, "order-service instances")
	fs.IntVar(&l.flashsale, "flashsale", 2, "flashsale instances")
	weights := fs.String("weights", "", "the balancer's weight of each flashsale instance on the shopper port, comma-separated (default: equal)")
	fs.IntVar(&l.base, "base-port", 7000, "first port of the processes behind the balancer (Redis nodes from it, their buses +50, dtm +100, flashsale +200, orders +300)")
	fs.StringVar(&l.host, "host", "127.0.0.1", "address the balancer binds")
	fs.IntVar(&l.shopper, "shopper-port", 8080, "the balancer's shopper port")
	fs.IntVar(&l.admin, "admin-port", 8081, "the balancer's admin port")
	fs.IntVar(&l.internal, "internal-port", 8082, "the balancer's port for dtm's calls to flashsale")
	fs.IntVar(&l.ordersP, "orders-port", 8090, "the balancer's port for dtm's calls to the order services")
	if err := fs.Parse(args[1:]); err != nil {
		return "", o, err
	}
	if *weights != "" {
		for _, w := range strings.Split(*weights, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n < 0 || n > 256 {
				return "", o, fmt.Errorf("-weights: %q is no weight (0-256)", w)
			}
			l.shopperWeights = append(l.shopperWeights, n)
		}
	}
	switch {
	case l.masters < 3:
		return "", o, errors.New("-masters: a Redis Cluster needs at least 3")
	case l.replicas < 0 || l.groups < 1 || l.orders < 1 || l.flashsale < 1 || l.flashsale > 33 || l.orders > 50 || l.groups > 50 || l.nodes() > 50:
		return "", o, errors.New("-replicas, -dtm-groups, -orders, -flashsale: out of range")
	}
	return args[0], o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	cmd, o, err := parse(args, getenv)
	if err != nil {
		return err
	}
	if cmd == "down" {
		return down(o)
	}
	return up(ctx, o, getenv)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
