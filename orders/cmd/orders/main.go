// Command orders runs the order service: the branch of every purchase
// message, exactly once, behind dtm's SQL barrier.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/orders/httpapi"
	"github.com/flashsale/flashsale/orders/sqldb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

// Config is the order service's configuration.
type Config struct {
	Addr     string
	MySQLDSN string
}

// DefaultConfig is the services mode on loopback.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8090", MySQLDSN: sqlconn.DefaultDSN}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg := DefaultConfig()
	if v := getenv("ORDERS_ADDR"); v != "" {
		cfg.Addr = v
	}
	if v := getenv("MYSQL_DSN"); v != "" {
		cfg.MySQLDSN = v
	}
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "orders")
	db, err := sqlconn.OpenMySQL(ctx, cfg.MySQLDSN, 64)
	if err != nil {
		return err
	}
	store := sqldb.New(db, sqldb.MySQL)
	return serve.Run(ctx, 10*time.Second, func(bound map[string]string) {
		log.Info("listening", "addr", bound["orders"])
	}, serve.Listener{Name: "orders", Addr: cfg.Addr, Handler: httpapi.New(store, log)})
}
