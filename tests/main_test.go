// Package tests holds the integration, crash and concurrency tests of the
// services mode: real Redis, real MariaDB/MySQL, and the dtm server, orders
// and flashsale each running as its own process, built once per test run.
package tests

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// env is what TestMain prepared for every test of the package.
var env struct {
	skip      string // why the tests cannot run here; "" when they can
	bin       string // directory of the built binaries
	redisAddr string
	redisDB   int
	mysqlDSN  string // the run's own database
	dbName    string
	rdb       *redis.Client
	db        *sql.DB
	// dtmStore is the store of every stack's dtm server: a redis-server
	// of the run's own, one key prefix, so that each stack's dtm knows
	// the messages of the stacks before it. The services' repair reads
	// every activity of the run's database: with a store of its own, a
	// stack's dtm would look as if it had forgotten every earlier
	// test's purchases (docs/architecture.md, "When a store forgets").
	dtmStore  *sharedStore
	dtmPrefix string
}

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests:", err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
	code = m.Run()
	teardown()
	if env.dtmStore != nil {
		env.dtmStore.kill()
	}
	os.Exit(code)
}

// teardown drops the run's database and removes the binaries.
func teardown() {
	if env.db != nil {
		env.db.Exec("DROP DATABASE IF EXISTS " + env.dbName)
		env.db.Close()
	}
	if env.bin != "" {
		os.RemoveAll(env.bin)
	}
}

// setup finds the servers, builds the binaries and makes the run's own
// database. It returns an exit code >= 0 when the run must end at once.
func setup() (int, error) {
	env.redisAddr = getenv("REDIS_ADDR", "127.0.0.1:6379")
	// IT_REDIS_DB lets runs from several checkouts share one Redis.
	env.redisDB, _ = strconv.Atoi(getenv("IT_REDIS_DB", "9"))
	mysqlAddr := getenv("MYSQL_ADDR", "127.0.0.1:3306")
	for _, addr := range []string{env.redisAddr, mysqlAddr} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			env.skip = fmt.Sprintf("no server at %s (Redis at REDIS_ADDR, MySQL at MYSQL_ADDR): %v", addr, err)
			break
		}
		c.Close()
	}
	if env.skip != "" {
		if os.Getenv("CI") == "true" {
			return 1, fmt.Errorf("CI=true and %s", env.skip)
		}
		fmt.Println("SKIP integration tests:", env.skip)
		return -1, nil
	}
	dir, err := os.MkdirTemp("", "flashsale-it-")
	if err != nil {
		return 0, err
	}
	env.bin = dir
	// flashsale is built with the faultinject tag so tests can park it
	// between the Lua step and Submit; the fault points are inert unless
	// armed by env.
	if err := proc.Build(dir, "faultinject", "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders"); err != nil {
		return 0, err
	}
	name := fmt.Sprintf("fs_it_%d_%d", time.Now().Unix(), os.Getpid())
	cfg := mysql.NewConfig()
	cfg.User = getenv("MYSQL_USER", "root")
	cfg.Passwd = os.Getenv("MYSQL_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = mysqlAddr
	cfg.DBName = name
	env.dbName = name
	cfg.ParseTime = true
	env.mysqlDSN = cfg.FormatDSN()
	admin := *cfg
	admin.DBName = ""
	adb, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		return 0, err
	}
	defer adb.Close()
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		return 0, fmt.Errorf("create test database: %w", err)
	}
	if env.db, err = sql.Open("mysql", env.mysqlDSN); err != nil {
		return 0, err
	}
	env.dtmPrefix = fmt.Sprintf("{dtmit%d}", time.Now().UnixNano())
	// Without redis-server (a Redis in a container), every stack's dtm
	// keeps its store in the shared Redis under the run's prefix; the
	// tests that make the store forget need redis-server and skip.
	if _, lerr := exec.LookPath("redis-server"); lerr == nil || os.Getenv("CI") == "true" {
		if env.dtmStore, err = startSharedStore(); err != nil {
			return 0, fmt.Errorf("dtm's store: %w", err)
		}
	}
	env.rdb = redis.NewClient(&redis.Options{Addr: env.redisAddr, DB: env.redisDB})
	if err := env.rdb.FlushDB(context.Background()).Err(); err != nil {
		return 0, fmt.Errorf("flush Redis db %d: %w", env.redisDB, err)
	}
	return -1, nil
}

// needServers skips t, or fails it when CI=true, if the servers are missing.
func needServers(t *testing.T) {
	t.Helper()
	if env.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s", env.skip)
		}
		t.Skip(env.skip)
	}
}

// needBinaries returns the paths of the programs named, which a test runs
// itself (a Redis of its own); without them it skips, or fails under CI=true.
func needBinaries(t *testing.T, names ...string) []string {
	t.Helper()
	needServers(t)
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and no %s binary", n)
			}
			t.Skipf("no %s binary to start a server of the test's own", n)
		}
		paths[i] = p
	}
	return paths
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envBin() string { return env.bin }
