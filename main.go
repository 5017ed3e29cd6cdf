// Command flashsale runs the whole flash sale in one process: the dtm
// server, the flashsale service and the order service. With no servers
// configured (the embedded default) Redis is an in-process Redis-protocol
// server journaled to a file (it also holds the dtm server's transactions)
// and orders live in a SQLite file, both under the data directory;
// REDIS_ADDR, MYSQL_DSN and DTM_SERVER switch each store to a real server.
//
// The secrets FLASHSALE_JWT_SECRET, FLASHSALE_ADMIN_TOKEN and
// FLASHSALE_INTERNAL_KEY come from the environment; each one it leaves unset
// is generated at the first start and kept in the data directory's
// secrets.json (SecretsFile, mode 0600), and reused at the next starts, so
// that the shopper tokens and the admin token of a run still work after a
// restart. The welcome lines show a generated secret's value (never the
// internal key's) and never a supplied one's. A corrupt Redis journal
// (data/redis.aof) stops the start with the bad record's offset and the
// ways to recover (package embedredis).
//
//	go run .            # the embedded default, data in ./data
//	go run . -data /tmp/sale -addr 127.0.0.1:9080
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/flashsale/flashsale/internal/dtmlog" // before dtm's logger reads LOG_LEVEL
	"github.com/flashsale/flashsale/internal/gctune"
)

func main() {
	gctune.Default()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		os.Exit(1)
	}
}
