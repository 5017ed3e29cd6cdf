// Command reconcile checks the promises I1-I5 (docs/architecture.md) for flash-sale
// activities against the live stores: the Redis stock counter and barriers,
// the orders and DB stock in MySQL, and the purchase messages on the dtm
// server, read through its HTTP admin API. It prints one report per
// activity, every violation with the gids, order ids and users involved,
// and the gids of messages not yet settled.
//
//	reconcile -activity 7[,8...] [-redis 127.0.0.1:6379] [-redis-db 0]
//	          [-mysql 'root@tcp(127.0.0.1:3306)/flashsale']
//	          [-dtm http://127.0.0.1:36789/api/dtmsvr] [-json]
//
// The flags default to the environment the services read: REDIS_ADDR,
// REDIS_DB, REDIS_PASSWORD, MYSQL_DSN, DTM_SERVER. It exits 0 when every
// activity is settled and keeps its promises, 1 on any violation or
// unsettled message, and 2 when it cannot check (bad flags, a store
// unreachable).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/go-sql-driver/mysql"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, errBroken):
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		os.Exit(2)
	}
}

// errBroken is returned when a promise is broken or a message unsettled.
var errBroken = errors.New("promises not kept")

// config is what the command checks and where the stores are.
type config struct {
	activities []int64
	redisAddr  string
	redisDB    int
	redisPass  string
	mysqlDSN   string
	dtm        string
	json       bool
	timeout    time.Duration
}

func loadConfig(args []string, getenv func(string) string) (config, error) {
	c := config{
		redisAddr: orDefault(getenv("REDIS_ADDR"), "127.0.0.1:6379"),
		redisPass: getenv("REDIS_PASSWORD"),
		mysqlDSN:  orDefault(getenv("MYSQL_DSN"), sqlconn.DefaultDSN),
		dtm:       orDefault(getenv("DTM_SERVER"), "http://127.0.0.1:36789/api/dtmsvr"),
		timeout:   time.Minute,
	}
	if v := getenv("REDIS_DB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REDIS_DB=%q: %w", v, err)
		}
		c.redisDB = n
	}
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	acts := fs.String("activity", "", "activity ids to check, comma-separated (required)")
	fs.StringVar(&c.redisAddr, "redis", c.redisAddr, "Redis address (several, comma-separated: a cluster)")
	fs.IntVar(&c.redisDB, "redis-db", c.redisDB, "Redis database")
	fs.StringVar(&c.mysqlDSN, "mysql", c.mysqlDSN, "MySQL DSN")
	fs.StringVar(&c.dtm, "dtm", c.dtm, "the dtm server's API base, or the comma-separated bases of every dtm group")
	fs.BoolVar(&c.json, "json", false, "print the reports as JSON, one a line")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "bound on the whole check")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, f := range strings.Split(*acts, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return c, fmt.Errorf("-activity: %q is not an activity id", f)
		}
		c.activities = append(c.activities, id)
	}
	if len(c.activities) == 0 {
		return c, errors.New("-activity is required")
	}
	return c, nil
}

// run checks every activity of the configuration, printing its report to
// stdout. It returns errBroken when a promise is broken or a message is
// unsettled, another error when it could not check.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	src, closeSrc, err := open(cfg)
	if err != nil {
		return err
	}
	defer closeSrc()
	var broken []string
	for _, id := range cfg.activities {
		r, err := reconcile.Check(ctx, src, id)
		if err != nil {
			return err
		}
		if cfg.json {
			b, _ := json.Marshal(r)
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			fmt.Fprint(stdout, r.String())
		}
		switch {
		case !r.OK():
			broken = append(broken, fmt.Sprintf("activity %d: %d violations", id, len(r.Violations)))
		case r.Unsettled() > 0:
			broken = append(broken, fmt.Sprintf("activity %d: %d messages unsettled", id, r.Unsettled()))
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("%w: %s", errBroken, strings.Join(broken, "; "))
	}
	return nil
}

// open connects to the three stores.
func open(cfg config) (reconcile.Sources, func(), error) {
	dsn, err := mysql.ParseDSN(cfg.mysqlDSN)
	if err != nil {
		return reconcile.Sources{}, nil, fmt.Errorf("MySQL DSN: %w", err)
	}
	dsn.ParseTime = true
	if dsn.Timeout == 0 {
		dsn.Timeout = 5 * time.Second
	}
	db, err := sql.Open("mysql", dsn.FormatDSN())
	if err != nil {
		return reconcile.Sources{}, nil, err
	}
	rdb := redisconn.Open(redisconn.Options{Addrs: cfg.redisAddr, Password: cfg.redisPass, DB: cfg.redisDB})
	src := reconcile.Sources{
		Redis: rdb, DB: db, DTM: strings.TrimRight(cfg.dtm, "/"),
		HTTP: &http.Client{Timeout: 30 * time.Second},
	}
	return src, func() { rdb.Close(); db.Close() }, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
