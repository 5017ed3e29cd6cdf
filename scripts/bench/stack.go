package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/testproc"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// stack is the services mode started for one bench run: a dtm server on
// the machine's Redis under a key prefix of its own, the order service
// and flashsale, each its own process on free ports, built once; a fresh
// MySQL database and a Redis database of their own. close removes all of
// it.
type stack struct {
	cfg Config
	dir string // run directory: binaries, logs, dtm config, profiles
	bin string
	log io.Writer

	redisDB   int
	rdb       *redis.Client // the run's Redis database
	rdb0      *redis.Client // database 0: the claim, and dtm's keys
	dtmPrefix string
	dbName    string
	dsn       string
	db        *sql.DB // the run's MySQL database
	server    *sql.DB // the MySQL server, to create and drop it

	dtmPort, ordersPort, shopperPort, adminPort, internalPort int

	buildTime time.Duration

	procs []*testproc.Proc
	pids  procSet
	hc    *http.Client
}

// claimKey marks a Redis database as used by a bench run (in database 0).
func claimKey(db int) string { return "flashsale-bench:db:" + strconv.Itoa(db) }

// startStack builds the binaries and starts the services. On error it
// removes what it had set up.
func startStack(ctx context.Context, cfg Config, log io.Writer) (s *stack, err error) {
	for _, addr := range []string{cfg.RedisAddr, cfg.MySQLAddr} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil, fmt.Errorf("no server at %s (Redis at REDIS_ADDR, MySQL at MYSQL_ADDR): %w", addr, err)
		}
		c.Close()
	}
	s = &stack{cfg: cfg, log: log, pids: procSet{},
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dir, err = os.MkdirTemp(cfg.Dir, "flashsale-bench-"); err != nil {
		return s, err
	}
	s.bin = filepath.Join(s.dir, "bin")
	fmt.Fprintf(log, "bench: run directory %s\n", s.dir)
	built := time.Now()
	if err := testproc.Build(s.bin, "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders", "./scripts/bench/benchsvc"); err != nil {
		return s, err
	}
	s.buildTime = time.Since(built)
	for _, name := range benchsvcNames {
		if err := os.Link(filepath.Join(s.bin, "benchsvc"), filepath.Join(s.bin, name)); err != nil {
			return s, err
		}
	}
	if err := s.claimRedis(ctx); err != nil {
		return s, err
	}
	if err := s.createDatabase(ctx); err != nil {
		return s, err
	}
	s.dtmPrefix = fmt.Sprintf("{fsbench%d}", time.Now().UnixNano())
	// Each process gets its ports just before it starts (and new ones if
	// it must start again); flashsale's environment names the others'.
	if err := s.start("dtm", func(ports []int) (*testproc.Proc, string) {
		s.dtmPort = ports[0]
		return s.newProc("dtm", []string{"-http-port", itoa(ports[0]), "-grpc-port", itoa(ports[1]),
			"-redis", cfg.RedisAddr, "-redis-prefix", s.dtmPrefix, "-dir", s.dir, "-log-level", "warn"}, nil), s.dtmURL() + "/version"
	}, 2); err != nil {
		return s, err
	}
	if err := s.start("orders", func(ports []int) (*testproc.Proc, string) {
		s.ordersPort = ports[0]
		return s.newProc("orders", nil, []string{"ORDERS_ADDR=127.0.0.1:" + itoa(ports[0]), "MYSQL_DSN=" + s.dsn,
			contract.KeyEnv + "=" + cfg.InternalKey}), s.ordersURL() + "/readyz"
	}, 1); err != nil {
		return s, err
	}
	if err := s.start("flashsale", func(ports []int) (*testproc.Proc, string) {
		s.shopperPort, s.adminPort, s.internalPort = ports[0], ports[1], ports[2]
		return s.newProc("flashsale", nil, []string{
			"FLASHSALE_ADDR=127.0.0.1:" + itoa(s.shopperPort),
			"FLASHSALE_ADMIN_ADDR=127.0.0.1:" + itoa(s.adminPort),
			"FLASHSALE_INTERNAL_ADDR=127.0.0.1:" + itoa(s.internalPort),
			"REDIS_ADDR=" + cfg.RedisAddr, "REDIS_DB=" + itoa(s.redisDB),
			"MYSQL_DSN=" + s.dsn,
			"DTM_SERVER=" + s.dtmURL(),
			"ORDERS_URL=" + s.ordersURL(),
			"FLASHSALE_JWT_SECRET=" + cfg.JWTSecret,
			"FLASHSALE_ADMIN_TOKEN=" + cfg.AdminToken,
			contract.KeyEnv + "=" + cfg.InternalKey,
		}), s.shopperURL() + "/readyz"
	}, 3); err != nil {
		return s, err
	}
	_, port, _ := net.SplitHostPort(cfg.RedisAddr)
	s.pids["redis"] = pidOfServer("redis-server", ":"+port)
	s.pids["mariadb"] = pidOfServer("mariadbd", "")
	return s, nil
}

// benchsvcNames are the names scripts/bench/benchsvc runs under: links
// to the binary, so that each process's command name (what perf and ps
// show) tells the bare handler, the reference's app and its dtm apart.
var benchsvcNames = []string{"bare", "ref-app", "ref-dtm"}

// benchsvc returns a Proc of scripts/bench/benchsvc running as name.
func (s *stack) benchsvc(name string, args ...string) *testproc.Proc {
	return &testproc.Proc{Name: name, Bin: filepath.Join(s.bin, name), Args: args, Log: filepath.Join(s.dir, name+".log")}
}

func (s *stack) newProc(name string, args, env []string) *testproc.Proc {
	return &testproc.Proc{Name: name, Bin: filepath.Join(s.bin, name), Args: args, Env: env,
		Log: filepath.Join(s.dir, name+".log")}
}

// start starts the process newProc returns for nports fresh free ports and
// waits until its readiness URL answers, then notes its pid under name. A
// port free when probed can be taken by another process before the service
// binds it (the machine is shared), so a failed start is tried again, twice,
// with new ports.
func (s *stack) start(name string, newProc func(ports []int) (*testproc.Proc, string), nports int) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		ports := make([]int, nports)
		for i := range ports {
			if ports[i], err = freePort(); err != nil {
				return err
			}
		}
		p, readyURL := newProc(ports)
		s.procs = append(s.procs, p)
		if err = startProc(p, readyURL); err == nil {
			s.pids[name] = pidOfCommand(p.Bin, p.Args)
			fmt.Fprintf(s.log, "bench: %s ready (pid %d, log %s)\n", name, s.pids[name], p.Log)
			return nil
		}
		p.Kill()
		fmt.Fprintf(s.log, "bench: %s did not start (attempt %d): %v\n", name, attempt+1, err)
	}
	return err
}

// stop kills p, started under its own name, and forgets it.
func (s *stack) stop(p *testproc.Proc) {
	p.Kill()
	delete(s.pids, p.Name)
}

// claimRedis takes the first empty database among 10-15 that no other
// bench run holds. The integration tests flush database 9 and the
// services default to 0, so the bench stays clear of both.
func (s *stack) claimRedis(ctx context.Context) error {
	s.rdb0 = redis.NewClient(&redis.Options{Addr: s.cfg.RedisAddr, Password: s.cfg.RedisPassword})
	for db := 15; db >= 10; db-- {
		ok, err := s.rdb0.SetNX(ctx, claimKey(db), os.Getpid(), 6*time.Hour).Result()
		if err != nil {
			return fmt.Errorf("claim a Redis database: %w", err)
		}
		if !ok {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: s.cfg.RedisAddr, Password: s.cfg.RedisPassword, DB: db})
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
			c.Close()
			s.rdb0.Del(ctx, claimKey(db))
			continue
		}
		s.redisDB, s.rdb = db, c
		return nil
	}
	return fmt.Errorf("no empty, unclaimed Redis database among 10-15 at %s", s.cfg.RedisAddr)
}

// createDatabase makes the run's own MySQL database; the services apply
// the schema when they start.
func (s *stack) createDatabase(ctx context.Context) error {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", s.cfg.MySQLAddr, s.cfg.MySQLUser, s.cfg.MySQLPassword
	cfg.ParseTime = true
	var err error
	if s.server, err = sql.Open("mysql", cfg.FormatDSN()); err != nil {
		return err
	}
	name := fmt.Sprintf("fs_bench_%d_%d", time.Now().Unix(), os.Getpid())
	if _, err := s.server.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create the bench database: %w", err)
	}
	s.dbName = name
	cfg.DBName = name
	s.dsn = cfg.FormatDSN()
	s.db, err = sql.Open("mysql", s.dsn)
	return err
}

// close stops every process and removes the run's database, Redis keys
// and, unless cfg.Keep, its directory.
func (s *stack) close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.rdb != nil {
		s.rdb.FlushDB(ctx)
		s.rdb.Close()
		s.rdb0.Del(ctx, claimKey(s.redisDB))
	}
	if s.rdb0 != nil {
		for _, prefix := range []string{s.dtmPrefix, refDTMPrefix(s.dtmPrefix)} {
			if prefix != "" {
				unlinkPrefix(ctx, s.rdb0, prefix)
			}
		}
		s.rdb0.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.dbName != "" {
		s.server.ExecContext(ctx, "DROP DATABASE "+s.dbName)
	}
	if s.server != nil {
		s.server.Close()
	}
	if s.dir != "" && !s.cfg.Keep {
		os.RemoveAll(s.dir)
	}
}

// unlinkPrefix deletes every key of database 0 that starts with prefix
// (a dtm store's transactions outlive the run by a day otherwise).
func unlinkPrefix(ctx context.Context, rdb *redis.Client, prefix string) {
	it := rdb.Scan(ctx, 0, escapeGlob(prefix)+"*", 5000).Iterator()
	var batch []string
	for it.Next(ctx) {
		if batch = append(batch, it.Val()); len(batch) == 1000 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

// escapeGlob escapes the glob characters of a Redis MATCH pattern.
func escapeGlob(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func (s *stack) dtmURL() string     { return fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", s.dtmPort) }
func (s *stack) ordersURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.ordersPort) }
func (s *stack) shopperURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.shopperPort) }
func (s *stack) adminURL() string   { return fmt.Sprintf("http://127.0.0.1:%d", s.adminPort) }
func (s *stack) shopperAddr() string {
	return fmt.Sprintf("127.0.0.1:%d", s.shopperPort)
}

func itoa(n int) string { return strconv.Itoa(n) }
