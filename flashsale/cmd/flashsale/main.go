// Command flashsale runs the shopper-facing service: the shopper API, the
// admin API on its own listener, and the internal listener for the dtm
// server's back-checks.
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

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/flashsale/app"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/tracing"
)

func main() {
	gctune.Default()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		os.Exit(1)
	}
}

// Config is the flashsale service's configuration.
type Config struct {
	Addr, AdminAddr, InternalAddr string
	// InternalURL is the internal listener's base URL as the dtm server
	// reaches it (the back-check lives there).
	InternalURL string
	RedisAddrs  string
	RedisDB     int
	RedisPass   string
	MySQLDSN    string
	// MySQLConns bounds the connections to MySQL (MYSQL_MAX_CONNS).
	MySQLConns int
	DTMServer  string
	OrdersURL  string
	JWTSecret  string
	AdminToken string
	// InternalKey signs and checks internal calls (FLASHSALE_INTERNAL_KEY).
	InternalKey contract.Key
}

// DefaultConfig is the services mode on loopback.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8080", AdminAddr: "127.0.0.1:8081", InternalAddr: "127.0.0.1:8082",
		RedisAddrs: "127.0.0.1:6379", MySQLDSN: sqlconn.DefaultDSN, MySQLConns: 32,
		DTMServer: dtmconf.DefaultServer().URL("127.0.0.1"), OrdersURL: "http://127.0.0.1:8090",
	}
}

func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	env := func(p *string, key string) {
		if v := getenv(key); v != "" {
			*p = v
		}
	}
	env(&c.Addr, "FLASHSALE_ADDR")
	env(&c.AdminAddr, "FLASHSALE_ADMIN_ADDR")
	env(&c.InternalAddr, "FLASHSALE_INTERNAL_ADDR")
	env(&c.InternalURL, "FLASHSALE_INTERNAL_URL")
	env(&c.RedisAddrs, "REDIS_ADDR")
	env(&c.RedisPass, "REDIS_PASSWORD")
	env(&c.MySQLDSN, "MYSQL_DSN")
	env(&c.DTMServer, "DTM_SERVER")
	env(&c.OrdersURL, "ORDERS_URL")
	env(&c.JWTSecret, "FLASHSALE_JWT_SECRET")
	env(&c.AdminToken, "FLASHSALE_ADMIN_TOKEN")
	if v := getenv("REDIS_DB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REDIS_DB: %w", err)
		}
		c.RedisDB = n
	}
	if v := getenv("MYSQL_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("MYSQL_MAX_CONNS=%q: want a positive count", v)
		}
		c.MySQLConns = n
	}
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", c.Addr, "shopper API listen address")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "admin API listen address")
	fs.StringVar(&c.InternalAddr, "internal-addr", c.InternalAddr, "internal (dtm callbacks) listen address")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.InternalURL == "" {
		c.InternalURL = "http://" + c.InternalAddr
	}
	if len(c.JWTSecret) < 16 {
		return c, fmt.Errorf("FLASHSALE_JWT_SECRET must be set, at least 16 characters")
	}
	if len(c.AdminToken) < 16 {
		return c, fmt.Errorf("FLASHSALE_ADMIN_TOKEN must be set, at least 16 characters")
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
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "flashsale")
	stopTracing, _, err := tracing.Setup(ctx, "flashsale", getenv) // OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set
	if err != nil {
		return err
	}
	defer stopTracing(context.WithoutCancel(ctx))
	db, err := sqlconn.OpenMySQL(ctx, cfg.MySQLDSN, cfg.MySQLConns)
	if err != nil {
		return err
	}
	rdb := redisconn.Open(redisconn.Options{Addrs: cfg.RedisAddrs, Password: cfg.RedisPass, DB: cfg.RedisDB})
	defer rdb.Close()
	acfg := app.Config{
		DTMServer: cfg.DTMServer, OrdersURL: cfg.OrdersURL, InternalURL: cfg.InternalURL,
		JWTSecret: cfg.JWTSecret, AdminToken: cfg.AdminToken, InternalKey: cfg.InternalKey,
	}
	if err := acfg.LoadGates(getenv); err != nil {
		return err
	}
	svc, err := app.New(acfg, db, rdb, log)
	if err != nil {
		return err
	}
	// A Redis that lost an activity's counter gets it back re-derived from
	// the durable stores, never reloaded from the total.
	// One activity whose stores disagree stays stale (503) and is tried
	// again every second; it does not keep the service from starting.
	if n, err := svc.Restock(ctx); err != nil {
		log.Error("some activities' Redis stock could not be re-derived; their buys answer 503 until it can", "err", err)
	} else if n > 0 {
		log.Warn("re-derived missing Redis stock", "activities", n)
	}
	if err := svc.Background(ctx); err != nil {
		return err
	}
	return serve.Run(ctx, 10*time.Second, func(bound map[string]string) {
		log.Info("listening", "shopper", bound["shopper"], "admin", bound["admin"], "internal", bound["internal"])
	}, svc.Listeners(cfg.Addr, cfg.AdminAddr, cfg.InternalAddr)...)
}
