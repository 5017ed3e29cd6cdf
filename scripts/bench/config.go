package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

// Config is one bench run: where the servers are, the secrets the services
// are started with, and the sizes of every measured run.
type Config struct {
	// Profile is "full" or "quick".
	Profile string

	// MySQLAddr and its account reach the MySQL server the run creates
	// its database on. (Redis is the run's own: stack.startRedis.)
	MySQLAddr, MySQLUser, MySQLPassword string
	// JWTSecret signs the shoppers' tokens; AdminToken is the admin API's
	// bearer token (FLASHSALE_ADMIN_TOKEN). Random when not set.
	JWTSecret, AdminToken string
	// InternalKey signs the calls between the services
	// (FLASHSALE_INTERNAL_KEY). Random when not set.
	InternalKey string

	// Dir is where the run directory is made ("" for the system's temp
	// directory); Keep keeps it (logs, binaries, profiles) after the run.
	Dir  string
	Keep bool
	// DTMStore is the Redis of dtm's store: "always" (the default, what
	// scripts/services-up starts: a Redis of its own with appendfsync
	// always), "everysec" (a Redis of its own that fsyncs every second)
	// or "shared" (the stock Redis, appendfsync everysec: the layout
	// before docs/durability.md). The reference's dtm uses the same.
	DTMStore string
	// JSON is the file the machine-readable report is written to ("" for
	// none).
	JSON string
	// Perf records CPU profiles of the whole machine with perf during the
	// runs that targets judge.
	Perf bool
	// SrcIPs spreads the generator's connections over this many loopback
	// addresses, so that a per-IP limit sees that many clients.
	SrcIPs int

	// Conns are the connection counts of the steady runs (bare handler,
	// sold-out and success paths).
	Conns []int
	// Steady is how long each bare-handler and sold-out run lasts, after
	// Warmup.
	Steady, Warmup time.Duration
	// SoldOutUsers is how many users the sold-out runs cycle through.
	SoldOutUsers int
	// SuccessBuys is the number of buys of each success run, one per user.
	SuccessBuys int
	// Shards, above 1, runs the success path again on an activity of that
	// many stock shards, beside the one-shard runs.
	Shards int
	Burst  BurstSize
	// Lead is how long after its creation the burst's activity opens.
	Lead time.Duration

	// EvalConns goroutines run the take script for EvalDuration, and
	// Pipeline scripts per round trip in the pipelined run.
	EvalConns    int
	EvalDuration time.Duration
	Pipeline     int
	// SQLConns goroutines run barrier+order transactions for SQLDuration.
	SQLConns    int
	SQLDuration time.Duration

	// SettleTimeout bounds the wait for a run's orders (or branches).
	SettleTimeout time.Duration

	// QuietWait bounds the wait, before each run, for the rest of the
	// machine to use less than QuietCores (0: start at once).
	QuietWait  time.Duration
	QuietCores float64

	// Wrk also drives the success paths (ours and the reference's) and
	// the sold-out paths (ours and the bare handler's) with wrk, beside
	// the generator (wrk.go).
	Wrk bool
}

// BurstSize is a sale replayed at once: Buys requests from Users users over
// Conns connections against Units units.
type BurstSize struct {
	Buys, Units, Users, Conns int
}

// FullConfig is the full profile: the 200k-buy burst, 64 and 256
// connections, 10-second steady runs.
func FullConfig() Config {
	_, err := exec.LookPath("perf")
	return Config{
		Profile: "full", SrcIPs: 250, Perf: err == nil, DTMStore: "always",
		Conns: []int{64, 256}, Steady: 10 * time.Second, Warmup: 2 * time.Second,
		SoldOutUsers: 10000, SuccessBuys: 20000,
		Burst: BurstSize{Buys: 200000, Units: 10000, Users: 50000, Conns: 256}, Lead: 3 * time.Second,
		EvalConns: 50, EvalDuration: 5 * time.Second, Pipeline: 16,
		SQLConns: 32, SQLDuration: 5 * time.Second,
		SettleTimeout: 3 * time.Minute,
		QuietWait:     2 * time.Minute, QuietCores: 0.25,
	}
}

// QuickConfig is the CI profile: every run of the full profile, small, in
// well under two minutes; only the invariants are asserted.
func QuickConfig() Config {
	return Config{
		Profile: "quick", SrcIPs: 250, DTMStore: "always",
		Conns: []int{64}, Steady: time.Second, Warmup: 300 * time.Millisecond,
		SoldOutUsers: 1000, SuccessBuys: 1000,
		Burst: BurstSize{Buys: 5000, Units: 500, Users: 2000, Conns: 64}, Lead: 2 * time.Second,
		EvalConns: 50, EvalDuration: time.Second, Pipeline: 16,
		SQLConns: 16, SQLDuration: time.Second,
		SettleTimeout: time.Minute,
	}
}

// loadConfig reads the flags and the environment.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	quick := false
	for _, a := range args {
		if a == "-quick" || a == "--quick" || a == "-quick=true" || a == "--quick=true" {
			quick = true
		}
	}
	c := FullConfig()
	if quick {
		c = QuickConfig()
	}
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	c.MySQLAddr = env("MYSQL_ADDR", "127.0.0.1:3306")
	c.MySQLUser = env("MYSQL_USER", "root")
	c.MySQLPassword = getenv("MYSQL_PASSWORD")
	c.JWTSecret = env("FLASHSALE_JWT_SECRET", "bench-jwt-"+randomHex(16))
	c.AdminToken = env("FLASHSALE_ADMIN_TOKEN", "bench-admin-"+randomHex(16))
	c.InternalKey = env(contract.KeyEnv, "bench-internal-"+randomHex(16))

	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Bool("quick", quick, "the CI profile: small runs, invariants only")
	fs.IntVar(&c.Burst.Buys, "buys", c.Burst.Buys, "burst: buy requests")
	fs.IntVar(&c.Burst.Units, "units", c.Burst.Units, "burst: units on sale")
	fs.IntVar(&c.Burst.Users, "users", c.Burst.Users, "burst: distinct users")
	fs.IntVar(&c.Burst.Conns, "conns", c.Burst.Conns, "burst: connections")
	conns := fs.String("steady-conns", joinInts(c.Conns), "connection counts of the steady runs, comma-separated")
	fs.DurationVar(&c.Steady, "steady", c.Steady, "length of each bare-handler and sold-out run")
	fs.IntVar(&c.SuccessBuys, "success-buys", c.SuccessBuys, "buys of each success-path run")
	fs.IntVar(&c.Shards, "shards", c.Shards, "also run the success path on an activity of this many stock shards (2-64), beside one shard")
	fs.IntVar(&c.SrcIPs, "src-ips", c.SrcIPs, "loopback source addresses to spread connections over (0: one)")
	fs.BoolVar(&c.Perf, "perf", c.Perf, "record perf CPU profiles of the judged runs")
	fs.DurationVar(&c.QuietWait, "quiet-wait", c.QuietWait, "before each run, wait up to this long for other processes to use under -quiet-cores")
	fs.Float64Var(&c.QuietCores, "quiet-cores", c.QuietCores, "CPU cores other processes may use when a run starts")
	fs.StringVar(&c.JSON, "json", "", "write the JSON report to this file")
	fs.StringVar(&c.Dir, "dir", "", "parent directory of the run directory (default: the system's temp dir)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the run directory (logs, binaries, profiles)")
	fs.StringVar(&c.DTMStore, "dtm-store", "always", "dtm's store (ours and the reference's): always (a Redis of its own, appendfsync always: what services-up starts), everysec (a Redis of its own, appendfsync everysec) or shared (the stock Redis)")
	fs.BoolVar(&c.Wrk, "wrk", false, "also drive the success and sold-out paths with wrk (on PATH), beside the generator")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch c.DTMStore {
	case "always", "everysec", "shared":
	default:
		return c, fmt.Errorf("-dtm-store %q: want always, everysec or shared", c.DTMStore)
	}
	if c.Wrk {
		if _, err := exec.LookPath("wrk"); err != nil {
			return c, fmt.Errorf("%s", wrkInstall)
		}
	}
	var err error
	if c.Conns, err = parseInts(*conns); err != nil {
		return c, fmt.Errorf("-steady-conns: %w", err)
	}
	b := c.Burst
	if b.Buys <= 0 || b.Units <= 0 || b.Users <= 0 || b.Conns <= 0 || c.SuccessBuys <= 0 {
		return c, fmt.Errorf("burst sizes and -success-buys must be positive")
	}
	if len(c.JWTSecret) < 16 || len(c.AdminToken) < 16 {
		return c, fmt.Errorf("FLASHSALE_JWT_SECRET and FLASHSALE_ADMIN_TOKEN must be at least 16 characters")
	}
	if _, err := contract.ParseKey(c.InternalKey); err != nil {
		return c, fmt.Errorf("%s: %w", contract.KeyEnv, err)
	}
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
