package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
)

// options is one run's configuration.
type options struct {
	seed           int64
	profile        string
	storm, round   time.Duration
	buyers, units  int
	unpaid         int
	burst, double  float64
	gapMin, gapMax time.Duration
	faults         []string
	settle         time.Duration
	bin            string
	flashsaleBin   string
	ordersBin      string
	tags           string
	keep           bool
	workdir        string
	redisServer    string
	// cluster runs the cluster profile (cluster.go).
	cluster       bool
	mysqlAddr     string
	mysqlUser     string
	mysqlPassword string
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	o := options{
		mysqlAddr: orDefault(getenv("MYSQL_ADDR"), "127.0.0.1:3306"),
		mysqlUser: orDefault(getenv("MYSQL_USER"), "root"), mysqlPassword: getenv("MYSQL_PASSWORD"),
	}
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.Int64Var(&o.seed, "seed", 0, "seed of the fault plan and the shoppers (0: a random one, printed)")
	soak := fs.Duration("soak", 0, "run the soak profile for this long (larger sales, faults further apart)")
	fs.DurationVar(&o.storm, "storm", 40*time.Second, "how long sales run and faults are injected")
	fs.DurationVar(&o.round, "round", 10*time.Second, "a new sale opens every round")
	fs.IntVar(&o.buyers, "buyers", 500, "shoppers per sale")
	fs.IntVar(&o.units, "units", 300, "units per sale")
	fs.Float64Var(&o.burst, "burst", 0.2, "share of a sale's shoppers who arrive in its first half second (the rest: over 80% of the round)")
	fs.Float64Var(&o.double, "double", 0.1, "share of shoppers who click buy twice at once")
	fs.IntVar(&o.unpaid, "unpaid", 2, "every n-th sale, from the first, gives "+strconv.Itoa(shortPayTimeout)+" s to pay (nobody pays: its orders are cancelled during the storm); 0: none (an hour to pay)")
	fs.DurationVar(&o.gapMin, "gap-min", time.Second, "least time between two faults")
	fs.DurationVar(&o.gapMax, "gap-max", 3*time.Second, "most time between two faults")
	faults := fs.String("faults", "all", "fault kinds to inject, comma-separated, or all, or none: "+strings.Join(faultKinds, ","))
	fs.DurationVar(&o.settle, "settle", 60*time.Second, "every message must be final this long after the last fault healed")
	fs.StringVar(&o.bin, "bin", "", "directory of prebuilt dtm, flashsale, orders, reconcile (built with -tags faultinject); empty: build them")
	fs.StringVar(&o.flashsaleBin, "flashsale-bin", "", "flashsale binary to use instead of the one in -bin")
	fs.StringVar(&o.ordersBin, "orders-bin", "", "orders binary to use instead of the one in -bin")
	fs.StringVar(&o.tags, "tags", "", "extra build tags when building (e.g. sabotage_reload)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work dir (logs, Redis files) and the database")
	fs.StringVar(&o.workdir, "workdir", "", "the work dir, kept (default: a new temporary one, removed unless the run fails or -keep)")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "the redis-server program")
	fs.BoolVar(&o.cluster, "cluster", false, "the cluster profile: the stock and dtm's store on a Redis Cluster, the stock on 3 masters with a replica each and dtm's store on a fourth master (with its replica) of its own, sales of 4 shards, and the faults kill-redis-master, failover-redis and lose-dtm-master instead of kill-redis and lose-dtm-store")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.profile = "ci"
	if *soak > 0 {
		o.profile = "soak"
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		defaults := map[string]func(){
			"storm":   func() { o.storm = *soak },
			"round":   func() { o.round = 30 * time.Second },
			"buyers":  func() { o.buyers = 600 },
			"units":   func() { o.units = 400 },
			"gap-min": func() { o.gapMin = 2 * time.Second },
			"gap-max": func() { o.gapMax = 6 * time.Second },
		}
		for name, apply := range defaults {
			if !set[name] || name == "storm" {
				apply()
			}
		}
	}
	if o.seed == 0 {
		o.seed = 1 + rand.Int64N(1<<31)
	}
	if o.cluster {
		o.profile += " cluster"
	}
	switch *faults {
	case "all":
		for _, k := range faultKinds {
			if o.cluster && !singleOnly[k] || !o.cluster && !clusterOnly[k] {
				o.faults = append(o.faults, k)
			}
		}
	case "none", "":
	default:
		known := map[string]bool{}
		for _, k := range faultKinds {
			known[k] = true
		}
		for _, k := range strings.Split(*faults, ",") {
			if !known[k] {
				return o, fmt.Errorf("-faults: unknown kind %q", k)
			}
			if o.cluster && singleOnly[k] || !o.cluster && clusterOnly[k] {
				return o, fmt.Errorf("-faults: %s does not apply to this profile (-cluster=%v)", k, o.cluster)
			}
			o.faults = append(o.faults, k)
		}
	}
	switch {
	case o.round <= 0 || o.storm < o.round:
		return o, fmt.Errorf("-storm %s must hold at least one -round %s", o.storm, o.round)
	case o.units <= 0 || o.buyers <= 0:
		return o, errors.New("-units and -buyers must be positive")
	case o.unpaid < 0:
		return o, errors.New("-unpaid must be 0 or positive")
	case o.gapMin <= 0 || o.gapMax < o.gapMin:
		return o, errors.New("-gap-min must be positive and at most -gap-max")
	}
	return o, nil
}

// binaries returns the programs of the run, building them into the work
// dir unless -bin names prebuilt ones.
func (o options) binaries() (binaries, error) {
	dir := o.bin
	if dir == "" {
		dir = filepath.Join(o.workdir, "bin")
		if err := proc.Build(dir, "faultinject "+o.tags, "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders", "./reconcile/cmd/reconcile"); err != nil {
			return binaries{}, err
		}
	}
	b := binaries{
		dtm: filepath.Join(dir, "dtm"), flashsale: filepath.Join(dir, "flashsale"),
		orders: filepath.Join(dir, "orders"), reconcile: filepath.Join(dir, "reconcile"),
	}
	if o.flashsaleBin != "" {
		b.flashsale = o.flashsaleBin
	}
	if o.ordersBin != "" {
		b.orders = o.ordersBin
	}
	if _, err := os.Stat(b.reconcile); err != nil {
		b.reconcile = ""
	}
	return b, nil
}
