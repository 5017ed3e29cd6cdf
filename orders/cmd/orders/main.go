// Command orders runs the order service: the branch of every purchase
// message, exactly once, behind dtm's SQL barrier; payment; and the
// cancellation of orders left unpaid, each a DTM two-phase message.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "github.com/flashsale/flashsale/internal/dtmlog" // before dtm's logger reads LOG_LEVEL
	"github.com/flashsale/flashsale/internal/gctune"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/tracing"
	"github.com/flashsale/flashsale/orders/app"
)

func main() {
	gctune.Default()
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
	// MySQLConns bounds the connections to MySQL (MYSQL_MAX_CONNS).
	MySQLConns int
	app.Config
}

// DefaultConfig is the services mode on loopback.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8090", MySQLDSN: sqlconn.DefaultDSN, MySQLConns: 64, Config: app.DefaultConfig()}
}

func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	c.URL = ""
	env := func(p *string, key string) {
		if v := getenv(key); v != "" {
			*p = v
		}
	}
	env(&c.Addr, "ORDERS_ADDR")
	env(&c.MySQLDSN, "MYSQL_DSN")
	env(&c.DTMServer, "DTM_SERVER")
	// ORDERS_URL is this service's URL as the dtm server reaches it, as
	// it is flashsale's way to reach it.
	env(&c.URL, "ORDERS_URL")
	env(&c.FlashsaleInternalURL, "FLASHSALE_INTERNAL_URL")
	env(&c.PaymentSimulation, "PAYMENT_SIMULATE")
	if v := getenv("MYSQL_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("MYSQL_MAX_CONNS=%q: want a positive count", v)
		}
		c.MySQLConns = n
	}
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address")
	if v := getenv("ORDERS_REPAIR_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("ORDERS_REPAIR_EVERY=%q: want a positive duration such as 60s", v)
		}
		c.RepairEvery = d
	}
	switch v := getenv("ORDERS_REPAIR"); v {
	case "", "on":
	case "off":
		c.RepairEvery = 0
	default:
		return c, fmt.Errorf("ORDERS_REPAIR=%q: want on or off", v)
	}
	fs.DurationVar(&c.CancelInterval, "cancel-interval", c.CancelInterval, "how often to cancel expired orders (0: not in this instance)")
	fs.DurationVar(&c.PaymentTimeout, "payment-timeout", c.PaymentTimeout, "bound on each call to the payment provider")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.URL == "" {
		c.URL = "http://" + c.Addr
	}
	var err error
	c.InternalKey, err = contract.KeyFromEnv(getenv)
	return c, err
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "orders")
	stopTracing, _, err := tracing.Setup(ctx, "orders", getenv) // OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set
	if err != nil {
		return err
	}
	defer stopTracing(context.WithoutCancel(ctx))
	db, err := sqlconn.OpenMySQL(ctx, cfg.MySQLDSN, cfg.MySQLConns)
	if err != nil {
		return err
	}
	svc, err := app.New(cfg.Config, db, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	return serve.Run(ctx, 10*time.Second, func(bound map[string]string) {
		log.Info("listening", "addr", bound["orders"])
	}, svc.Listener(cfg.Addr))
}
