package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/dtmconf/dtmserver"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/app"
	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/embedredis"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/tracing"
	ordersapp "github.com/flashsale/flashsale/orders/app"
	"github.com/flashsale/flashsale/orders/sqldb"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// Config is the all-in-one process's configuration: flags, then env.
type Config struct {
	DataDir                                   string
	Addr, AdminAddr, InternalAddr, OrdersAddr string
	DTMPort, DTMGRPCPort                      int
	// RedisAddr, MySQLDSN and DTMServer name real servers; empty means the
	// embedded stand-in.
	RedisAddr, MySQLDSN, DTMServer string
	// DTMRedisAddr is the Redis of the in-process dtm server's store
	// (DTM_REDIS_ADDR): give it one of its own with appendfsync always
	// (docs/durability.md); empty: the stock's Redis (RedisAddr, or the
	// embedded one).
	DTMRedisAddr          string
	JWTSecret, AdminToken string
	// InternalKey is the text of the key that signs the internal calls
	// between the services (contract.ParseKey). The three secrets come from
	// the environment; those it leaves empty are generated at the first
	// start and kept in the data directory's SecretsFile.
	InternalKey string
	// PaymentSimulation configures the simulated payment provider
	// (PAYMENT_SIMULATE, package paysim); empty: payments succeed.
	PaymentSimulation string
	// Demo creates a demo activity opening a minute after start when no
	// activity is upcoming or open.
	Demo bool
	// DTMDashboard is the directory of the built dtm dashboard that the
	// in-process dtm server serves at / (dtmconf.DashboardDir); "" for none.
	DTMDashboard string
}

// DefaultConfig is the embedded default on the documented ports.
func DefaultConfig() Config {
	return Config{
		DataDir: "data",
		Addr:    "127.0.0.1:8080", AdminAddr: "127.0.0.1:8081", InternalAddr: "127.0.0.1:8082", OrdersAddr: "127.0.0.1:8090",
		DTMPort: 36789, DTMGRPCPort: 36790, Demo: true,
	}
}

func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	for key, p := range map[string]*string{
		"FLASHSALE_DATA": &c.DataDir, "FLASHSALE_ADDR": &c.Addr, "FLASHSALE_ADMIN_ADDR": &c.AdminAddr,
		"FLASHSALE_INTERNAL_ADDR": &c.InternalAddr, "ORDERS_ADDR": &c.OrdersAddr,
		"REDIS_ADDR": &c.RedisAddr, "MYSQL_DSN": &c.MySQLDSN, "DTM_SERVER": &c.DTMServer,
		"DTM_REDIS_ADDR":       &c.DTMRedisAddr,
		"FLASHSALE_JWT_SECRET": &c.JWTSecret, "FLASHSALE_ADMIN_TOKEN": &c.AdminToken, "FLASHSALE_INTERNAL_KEY": &c.InternalKey,
		"PAYMENT_SIMULATE": &c.PaymentSimulation,
	} {
		if v := getenv(key); v != "" {
			*p = v
		}
	}
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (redis.aof, flashsale.db)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "shopper API listen address")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "admin API listen address")
	fs.StringVar(&c.InternalAddr, "internal-addr", c.InternalAddr, "internal (dtm callbacks) listen address")
	fs.StringVar(&c.OrdersAddr, "orders-addr", c.OrdersAddr, "order service listen address")
	fs.IntVar(&c.DTMPort, "dtm-port", c.DTMPort, "in-process dtm server HTTP port")
	fs.IntVar(&c.DTMGRPCPort, "dtm-grpc-port", c.DTMGRPCPort, "in-process dtm server gRPC port")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "create a demo activity when none is upcoming or open")
	fs.StringVar(&c.DTMDashboard, "dtm-dashboard", dtmconf.DashboardDir(getenv), "built dtm dashboard served by the in-process dtm server (scripts/build-dtm; FLASHSALE_DTM_DASHBOARD_DIR)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stopTracing, _, err := tracing.Setup(ctx, "flashsale", getenv) // OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set
	if err != nil {
		return err
	}
	defer stopTracing(context.WithoutCancel(ctx))
	data, sec, internalKey, err := prepareData(&cfg)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, cfg, data)
	if err != nil {
		return err
	}
	defer st.close()
	svc, demo, err := startFlashsale(ctx, cfg, getenv, st, internalKey, log)
	if err != nil {
		return err
	}
	orders, err := newOrders(cfg, st, internalKey, log)
	if err != nil {
		return err
	}
	// The canceller stops before the stores close (defers run last first).
	ctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		orders.Run(ctx)
	}()
	defer func() { cancel(); <-cancelled }()
	listeners := append(svc.Listeners(cfg.Addr, cfg.AdminAddr, cfg.InternalAddr),
		orders.Listener(cfg.OrdersAddr))
	return serve.Run(ctx, 10*time.Second, func(bound map[string]string) {
		printWelcome(out, cfg, data, bound, st.dtmURL, st.dialect, sec, demo)
	}, listeners...)
}

// prepareData makes the data directory, absolute, and fills the secrets
// of cfg that the environment left empty (keepSecrets). It returns the
// directory, where each secret came from, and the internal key.
func prepareData(cfg *Config) (string, secrets, contract.Key, error) {
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", secrets{}, contract.Key{}, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", secrets{}, contract.Key{}, err
	}
	sec, err := keepSecrets(cfg, data)
	if err != nil {
		return "", secrets{}, contract.Key{}, err
	}
	key, err := contract.ParseKey(cfg.InternalKey) // checked by keepSecrets
	return data, sec, key, err
}

// stores are the process's Redis, SQL database and dtm server, each real
// or embedded.
type stores struct {
	rdb     redis.UniversalClient
	db      *gorm.DB
	dialect string // the SQL store's (sqldb.MySQL or sqldb.SQLite)
	dtmURL  string
	close   func() // closes the database, then Redis
}

// openStores opens the stores of cfg, the embedded ones with their files
// in data.
func openStores(ctx context.Context, cfg Config, data string) (stores, error) {
	rdb, redisAddr, stopRedis, err := openRedis(cfg, data)
	if err != nil {
		return stores{}, err
	}
	db, dialect, err := openSQL(ctx, cfg, data)
	if err != nil {
		stopRedis()
		return stores{}, err
	}
	closeAll := func() { closeSQL(db); stopRedis() }
	dtmURL, err := startDTM(cfg, data, redisAddr)
	if err != nil {
		closeAll()
		return stores{}, err
	}
	return stores{rdb: rdb, db: db, dialect: dialect, dtmURL: dtmURL, close: closeAll}, nil
}

// startFlashsale makes the flashsale service on st, re-derives the Redis
// stock that is missing, creates the demo activity when cfg asks for one,
// and starts the service's background work. It returns the service and
// the demo activity, if any.
func startFlashsale(ctx context.Context, cfg Config, getenv func(string) string, st stores, key contract.Key, log *slog.Logger) (*app.Service, *flashsale.Activity, error) {
	acfg := app.Config{
		DTMServer: st.dtmURL, OrdersURL: "http://" + cfg.OrdersAddr, InternalURL: "http://" + cfg.InternalAddr,
		JWTSecret: cfg.JWTSecret, AdminToken: cfg.AdminToken, InternalKey: key,
	}
	if err := acfg.LoadGates(getenv); err != nil {
		return nil, nil, err
	}
	svc, err := app.New(acfg, st.db, st.rdb, log)
	if err != nil {
		return nil, nil, err
	}
	// The embedded Redis comes back from its journal; an activity whose
	// counter is missing all the same (a journal deleted, a Redis server
	// restarted empty) has it re-derived from the orders and the dtm
	// server, never reloaded from its total.
	if _, err := svc.Restock(ctx); err != nil {
		log.Error("some activities' Redis stock could not be re-derived; their buys answer 503 until it can", "err", err)
	}
	var demo *flashsale.Activity
	if cfg.Demo {
		if demo, err = ensureDemo(ctx, svc, time.Now()); err != nil {
			return nil, nil, err
		}
	}
	if err := svc.Background(ctx); err != nil {
		return nil, nil, err
	}
	return svc, demo, nil
}

// newOrders makes the order service on st.
func newOrders(cfg Config, st stores, key contract.Key, log *slog.Logger) (*ordersapp.Service, error) {
	ocfg := ordersapp.DefaultConfig()
	ocfg.DTMServer, ocfg.URL, ocfg.FlashsaleInternalURL = st.dtmURL, "http://"+cfg.OrdersAddr, "http://"+cfg.InternalAddr
	ocfg.InternalKey = key
	if cfg.PaymentSimulation != "" {
		ocfg.PaymentSimulation = cfg.PaymentSimulation
	}
	return ordersapp.New(ocfg, st.db, log)
}

// openRedis connects to REDIS_ADDR, or starts the embedded journaled Redis
// (package embedredis) with its journal in data. It also returns the
// address for the dtm server's store.
func openRedis(cfg Config, data string) (redis.UniversalClient, string, func(), error) {
	if cfg.RedisAddr != "" {
		rdb := redisconn.Open(redisconn.Options{Addrs: cfg.RedisAddr})
		return rdb, strings.Split(cfg.RedisAddr, ",")[0], func() { rdb.Close() }, nil
	}
	srv, err := embedredis.Start(filepath.Join(data, "redis.aof"))
	if err != nil {
		return nil, "", nil, fmt.Errorf("embedded redis: %w", err)
	}
	rdb := redisconn.Open(redisconn.Options{Addrs: srv.Addr()})
	return rdb, srv.Addr(), func() { rdb.Close(); srv.Close() }, nil
}

// openSQL connects to MYSQL_DSN, or opens the SQLite file in data.
func openSQL(ctx context.Context, cfg Config, data string) (*gorm.DB, string, error) {
	if cfg.MySQLDSN != "" {
		db, err := sqlconn.OpenMySQL(ctx, cfg.MySQLDSN, 64)
		return db, sqldb.MySQL, err
	}
	db, err := sqlconn.OpenSQLite(ctx, filepath.Join(data, "flashsale.db"))
	return db, sqldb.SQLite, err
}

func closeSQL(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// startDTM returns DTM_SERVER, or starts the dtm server in this process
// with its transactions in the Redis at DTM_REDIS_ADDR, else at redisAddr
// (the embedded one in the embedded mode), under the key prefix {dtm}.
//
// dtm's boltdb store is not used: in dtm v1.19.0 it finds a transaction's
// branches by seeking to the gid and stops at the first key of another gid,
// and the branch keys of gid "...-u1" ("...-u1000") sort between "...-u10"
// and its own keys, so the message of user u10 would succeed without its
// branch ever being called (an undersell), whenever user u1 bought too.
func startDTM(cfg Config, data, redisAddr string) (string, error) {
	if cfg.DTMServer != "" {
		return cfg.DTMServer, nil
	}
	// The HTTP port binds loopback (dtmserver.Start fails when it is
	// taken); dtm's gRPC port binds every interface, and dtm exits when it
	// cannot: check it first.
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.DTMGRPCPort))
	if err != nil {
		return "", fmt.Errorf("dtm grpc port %d: %w", cfg.DTMGRPCPort, err)
	}
	ln.Close()
	if cfg.DTMRedisAddr != "" {
		redisAddr = cfg.DTMRedisAddr
	}
	host, port, err := net.SplitHostPort(redisAddr)
	if err != nil {
		return "", err
	}
	s := dtmconf.DefaultServer()
	s.HTTPPort, s.GRPCPort = cfg.DTMPort, cfg.DTMGRPCPort
	s.Store.Host = host
	if s.Store.Port, err = strconv.Atoi(port); err != nil {
		return "", err
	}
	dtmApp, err := dtmserver.Start(s, data)
	if err != nil {
		return "", err
	}
	if cfg.DTMDashboard != "" {
		if err := dtmconf.ServeDashboard(dtmApp, cfg.DTMDashboard); err != nil {
			return "", err
		}
	}
	url := s.URL("127.0.0.1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(cfg.DTMPort), time.Second)
		if err == nil {
			c.Close()
			return url, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("in-process dtm server not listening: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ensureDemo creates a demo product and an activity of 100 units opening a
// minute from now, unless an activity is already upcoming or open.
func ensureDemo(ctx context.Context, svc *app.Service, now time.Time) (*flashsale.Activity, error) {
	cat := svc.Catalog()
	list, err := cat.Activities(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if now.Before(a.EndAt) {
			return &a, nil
		}
	}
	p, err := cat.CreateProduct(ctx, flashsale.Product{Name: "Demo phone", Description: "A phone at a tenth of its price, 100 units.", Price: 499900})
	if err != nil {
		return nil, err
	}
	a, err := svc.CreateActivity(ctx, flashsale.Activity{
		Name: "Demo flash sale", Product: p, Price: 49990, Total: 100,
		StartAt: now.Add(time.Minute).Truncate(time.Second), EndAt: now.Add(24 * time.Hour).Truncate(time.Second), PayTimeoutSeconds: 900,
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// printWelcome prints the addresses, the secrets the process generated
// (never one the user supplied, never the internal key) and, with a demo
// activity, how to buy.
func printWelcome(out io.Writer, cfg Config, data string, bound map[string]string, dtmURL, dialect string, sec secrets, demo *flashsale.Activity) {
	mode := "embedded"
	if cfg.RedisAddr != "" || cfg.MySQLDSN != "" || cfg.DTMServer != "" {
		mode = "all-in-one against configured servers"
	}
	fmt.Fprintf(out, "flash sale running (%s mode; data in %s, SQL store %s)\n", mode, data, dialect)
	fmt.Fprintf(out, "  shopper page http://%s/\n", bound["shopper"])
	fmt.Fprintf(out, "  shopper API  http://%s/api/v1/activities\n", bound["shopper"])
	fmt.Fprintf(out, "  sale view    http://%s/  (admin token below)\n", bound["admin"])
	fmt.Fprintf(out, "  admin API    http://%s/admin/v1  (bearer token below)\n", bound["admin"])
	fmt.Fprintf(out, "  dtm server   %s\n", dtmURL)
	if cfg.DTMServer == "" && cfg.DTMDashboard != "" {
		fmt.Fprintf(out, "  dtm dashboard http://127.0.0.1:%d/\n", cfg.DTMPort)
	} else if cfg.DTMServer == "" {
		fmt.Fprintf(out, "  dtm dashboard not built: scripts/build-dtm builds it (needs npm), then restart\n")
	}
	fmt.Fprintf(out, "  %s\n", sec.line("FLASHSALE_ADMIN_TOKEN", cfg.AdminToken))
	fmt.Fprintf(out, "  %s\n", sec.line("FLASHSALE_JWT_SECRET", cfg.JWTSecret))
	fmt.Fprintf(out, "  %s\n", sec.keyLine())
	if demo != nil {
		tok := auth.Mint(cfg.JWTSecret, "alice", time.Now(), 24*time.Hour)
		fmt.Fprintf(out, "demo activity %d %q: %d units, opens %s\n", demo.ID, demo.Name, demo.Total, demo.StartAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(out, "a shopper token for user alice (24 h):\n  %s\n", tok)
		fmt.Fprintf(out, "shop as alice: http://%s/#token=%s\n", bound["shopper"], tok)
		fmt.Fprintf(out, "once it opens: fetch the start secret, buy, then poll the order:\n")
		fmt.Fprintf(out, "  S=$(curl -s -H 'Authorization: Bearer %s' http://%s/api/v1/activities/%d/secret | sed 's/.*\"secret\":\"\\([^\"]*\\)\".*/\\1/')\n", tok, bound["shopper"], demo.ID)
		fmt.Fprintf(out, "  curl -s -X POST -H 'Authorization: Bearer %s' -d \"{\\\"secret\\\":\\\"$S\\\"}\" http://%s/api/v1/activities/%d/buy\n", tok, bound["shopper"], demo.ID)
		fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' http://%s/api/v1/activities/%d/order\n", tok, bound["shopper"], demo.ID)
	}
	fmt.Fprintf(out, "more tokens: go run ./flashsale/cmd/mint-token -secret %s -user bob\n", sec.mintSecret(cfg.JWTSecret))
}
