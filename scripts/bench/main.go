// Command bench is the flash sale's load generator and benchmark. It
// starts its own services-mode stack as users run it (a Redis server of
// its own with docker-compose's settings, a fresh MySQL database on the
// machine's server, and dtm, the order service and flashsale started by
// scripts/services-up on free ports) and measures, in one run on one
// machine:
//
//   - the ceilings: a bare gin handler behind the same generator, the
//     project's Redis take script (one per round trip and pipelined),
//     MariaDB barrier+order transactions per second;
//   - the project's sold-out path, success path and burst (a sale replayed:
//     M buys from U users at C connections against N units opening at a set
//     instant), through the shopper API with real tokens and start secrets;
//   - the reference: dtm's flash-sale example as published, on the same
//     loads (scripts/bench/benchsvc);
//
// and prints each figure as a ratio to its ceiling or to the reference,
// the targets met or missed (with the gap and a perf profile of the run),
// and the promises checked by reconciliation after every run of ours.
//
//	go run ./scripts/bench            # the full profile, several minutes
//	go run ./scripts/bench -quick     # the CI profile, under two minutes
//	go run ./scripts/bench -json bench.json -keep
//
// Redis (REDIS_ADDR, default 127.0.0.1:6379) and MySQL/MariaDB
// (MYSQL_ADDR 127.0.0.1:3306, MYSQL_USER root, MYSQL_PASSWORD) must be
// running. FLASHSALE_JWT_SECRET and FLASHSALE_ADMIN_TOKEN, when set, are
// the secrets the services are started with (random otherwise); the rest
// of the environment reaches the services too (FLASHSALE_RATE_PER_IP=0...).
// The exit status is 1 when a run fails or an invariant is broken; a missed
// speed target is reported, not an error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the bench the arguments and environment describe, prints the
// report on stdout (progress on stderr) and writes the JSON report when
// asked. It returns the report, and an error when a run failed or an
// invariant was broken.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (*Report, error) {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return nil, err
	}
	rep, err := bench(ctx, cfg, stderr)
	if rep != nil {
		rep.WriteText(stdout)
		if cfg.JSON != "" {
			if jerr := rep.JSON(cfg.JSON); jerr != nil && err == nil {
				err = jerr
			}
		}
	}
	if err != nil {
		return rep, err
	}
	if !rep.InvariantsOK() {
		return rep, fmt.Errorf("invariants broken: see the reconciliation above")
	}
	return rep, nil
}
