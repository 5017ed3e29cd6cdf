// Command services starts and stops the services mode on this machine,
// each process on its own, against the machine's Redis and MySQL/MariaDB
// (scripts/services-up and scripts/services-down run it):
//
//	FLASHSALE_JWT_SECRET=... FLASHSALE_ADMIN_TOKEN=... go run ./scripts/services up
//	go run ./scripts/services down
//
// up builds dtm, orders and flashsale into .run/bin, starts each in the
// background, in a session of its own (logs in .run/logs/<name>.log, pid
// in .run/pids/<name>.pid), and waits until every one is ready. Running it
// again starts only what is not running. down stops what up started, and
// nothing else: flashsale, orders, dtm, then dtm-redis, each with SIGTERM,
// then SIGKILL after STOP_TIMEOUT seconds; a pid file whose process is gone,
// or is another program now, is removed without signalling anything.
//
// dtm's store is a Redis server of its own unless DTM_REDIS_ADDR names one:
// redis-server (run as .run/bin/dtm-redis, a link to it; pid in
// .run/pids/dtm-redis.pid, files in .run/dtm-redis) on
// 127.0.0.1:$DTM_REDIS_PORT with --appendonly yes --appendfsync always, so
// that a SIGKILL of it loses no write it acknowledged (docs/durability.md).
// The stock Redis (REDIS_ADDR) keeps its own settings.
//
// Environment (defaults in brackets):
//
//	REDIS_ADDR [127.0.0.1:6379]   MYSQL_DSN [root@tcp(127.0.0.1:3306)/flashsale]
//	REDIS_PASSWORD, REDIS_DB      passed through to the services
//	FLASHSALE_JWT_SECRET, FLASHSALE_ADMIN_TOKEN   required, >= 16 characters
//	FLASHSALE_INTERNAL_KEY   >= 32 bytes; generated into .run/internal.key when unset
//	FLASHSALE_ADDR [127.0.0.1:8080]  FLASHSALE_ADMIN_ADDR [127.0.0.1:8081]
//	FLASHSALE_INTERNAL_ADDR [127.0.0.1:8082]  ORDERS_ADDR [127.0.0.1:8090]
//	DTM_HTTP_PORT [36789]  DTM_GRPC_PORT [36790]
//	DTM_REDIS_ADDR [unset]  dtm's Redis store, one HOST:PORT; unset or empty:
//	  the store is dtm-redis, started here (needs redis-server)
//	DTM_REDIS_PORT [6390]  the port of dtm-redis, on 127.0.0.1
//	READY_TIMEOUT [30] seconds to wait for readiness
//	STOP_TIMEOUT [10] seconds down waits after SIGTERM before SIGKILL
//	FLASHSALE_RUN_DIR [.run]  where binaries, logs and pid files go (scripts/bench
//	  starts a stack of its own in its run directory this way)
//	DTM_IMPL [launcher]  which dtm server runs: "launcher" is dtmconf/cmd/dtm
//	  (this project's settings, pooled HTTP clients to the branches, and the
//	  dtm dashboard at http://127.0.0.1:$DTM_HTTP_PORT/ once scripts/build-dtm
//	  has built it); "module" is dtm's own binary that scripts/build-dtm
//	  builds, dashboard embedded, given the same settings as a config file
//	  (-c) but with dtm's default HTTP clients (GOMAXPROCS+1 idle
//	  connections per host: connection churn under load)
//
// The processes are run by internal/proc, as the tests run theirs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/flashsale/flashsale/internal/proc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd := "services"
	if len(os.Args) > 1 {
		cmd += "-" + os.Args[1]
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// run runs the command args names (up or down) with the environment
// getenv reads, and tells what it does on out.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) != 1 || args[0] != "up" && args[0] != "down" {
		return fmt.Errorf("usage: services up|down (scripts/services-up, scripts/services-down; the environment they read: go doc ./scripts/services)")
	}
	c, err := load(proc.ModuleRoot(), getenv)
	if err != nil {
		return err
	}
	con := console{w: out, prefix: "services-" + args[0]}
	if args[0] == "down" {
		return down(c, con)
	}
	return up(ctx, c, con)
}

// console prints what the command does, each line after its name.
type console struct {
	w      io.Writer
	prefix string
}

func (c console) say(format string, args ...any) {
	fmt.Fprintf(c.w, c.prefix+": "+format+"\n", args...)
}
