package main

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// stack is the services mode started for one bench run exactly as users
// start it: a Redis server of its own with docker-compose's settings
// (composeRedisArgs: the append-only file on), a fresh MySQL database on
// the machine's server, and dtm, its store (by default a Redis of its own,
// appendfsync always, which services-up starts; see Config.DTMStore), the
// order service and flashsale started by scripts/services-up (its build,
// its flags, its environment) into the run directory, on free ports.
// close stops and removes all of it.
type stack struct {
	cfg Config
	dir string // run directory: binaries, logs, dtm config, profiles
	bin string // the bench's own binaries (benchsvc)
	run string // services-up's FLASHSALE_RUN_DIR
	log io.Writer

	redisAddr string
	redisDB   int           // always 0: the Redis server is the run's own
	rdb       *redis.Client // the run's Redis
	dtmPrefix string
	// dtmStore is the address of dtm's store (the reference's dtm uses it
	// too); dtmRedisPort, when services-up starts that Redis, its port.
	dtmStore     string
	dtmRedisPort int
	dbName       string
	dsn          string
	db           *sql.DB // the run's MySQL database
	server       *sql.DB // the MySQL server, to create and drop it

	dtmPort, ordersPort, shopperPort, adminPort, internalPort int

	buildTime time.Duration

	procs    []*proc.Process
	services bool // services-up started the services: services-down stops them
	pids     procSet
	hc       *http.Client
}

// servicesDTMPrefix is the key prefix scripts/services-up gives dtm's store.
const servicesDTMPrefix = "{dtm}"

// startStack builds the binaries and starts the services. On error it
// removes what it had set up.
func startStack(ctx context.Context, cfg Config, log io.Writer) (s *stack, err error) {
	c, err := net.DialTimeout("tcp", cfg.MySQLAddr, time.Second)
	if err != nil {
		return nil, fmt.Errorf("no MySQL server at %s (MYSQL_ADDR): %w", cfg.MySQLAddr, err)
	}
	c.Close()
	s = &stack{cfg: cfg, log: log, pids: procSet{}, dtmPrefix: servicesDTMPrefix,
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
	s.run = filepath.Join(s.dir, "run")
	fmt.Fprintf(log, "bench: run directory %s\n", s.dir)
	built := time.Now()
	if err := proc.Build(s.bin, "", "./scripts/bench/benchsvc"); err != nil {
		return s, err
	}
	fmt.Fprintf(log, "bench: built benchsvc in %s\n", time.Since(built).Round(time.Millisecond))
	for _, name := range benchsvcNames {
		if err := os.Link(filepath.Join(s.bin, "benchsvc"), filepath.Join(s.bin, name)); err != nil {
			return s, err
		}
	}
	s.buildTime = time.Since(built)
	if err := s.startRedis(); err != nil {
		return s, err
	}
	if err := s.startDTMStore(); err != nil {
		return s, err
	}
	if err := s.createDatabase(ctx); err != nil {
		return s, err
	}
	built = time.Now()
	if err := s.servicesUp(); err != nil {
		return s, err
	}
	s.buildTime += time.Since(built)
	s.pids["mariadb"] = pidOfServer("mariadbd", "")
	return s, nil
}

// startRedis starts the run's own Redis server with the arguments
// docker-compose gives its redis service.
func (s *stack) startRedis() error {
	args, err := composeRedisArgs("redis")
	if err != nil {
		return err
	}
	s.redisAddr, s.rdb, err = s.startRedisServer("redis", args)
	return err
}

// startDTMStore settles where dtm's store is (cfg.DTMStore): the stock
// Redis; a Redis server of its own with docker-compose's dtm-redis
// arguments but appendfsync everysec, started here; or, by default,
// the one services-up starts (appendfsync always), on a free port.
func (s *stack) startDTMStore() error {
	switch s.cfg.DTMStore {
	case "shared":
		s.dtmStore = s.redisAddr
	case "everysec":
		args, err := composeRedisArgs("dtm-redis")
		if err != nil {
			return err
		}
		for i, a := range args {
			if a == "--appendfsync" && i+1 < len(args) {
				args[i+1] = "everysec"
			}
		}
		addr, rdb, err := s.startRedisServer("dtm-redis", args)
		if err != nil {
			return err
		}
		rdb.Close()
		s.dtmStore = addr
	default: // "always", or "" in a Config not from loadConfig
		port, err := proc.FreePort()
		if err != nil {
			return err
		}
		s.dtmRedisPort = port
		s.dtmStore = "127.0.0.1:" + strconv.Itoa(port)
	}
	fmt.Fprintf(s.log, "bench: dtm's store at %s (-dtm-store %s)\n", s.dtmStore, cmp.Or(s.cfg.DTMStore, "always"))
	return nil
}

// startRedisServer starts a Redis server of the run's own, named name
// (its pid noted under that name), with args, on a free port, its files in
// the run directory, and returns its address and a client of it. A port
// taken between the probe and the bind makes it try again, twice, with
// another.
func (s *stack) startRedisServer(name string, args []string) (string, *redis.Client, error) {
	data := filepath.Join(s.dir, name)
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", nil, err
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = proc.FreePort(); err != nil {
			return "", nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p := &proc.Process{Name: name, Path: "redis-server", Log: filepath.Join(s.dir, name+".log"),
			Args:  append(slices.Clone(args), "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", data),
			Ready: proc.Redis(addr)}
		s.procs = append(s.procs, p)
		if err = p.StartReady(context.Background(), 10*time.Second); err == nil {
			s.pids[name] = p.Pid()
			fmt.Fprintf(s.log, "bench: %s ready at %s (pid %d, %s)\n", name, addr, s.pids[name], strings.Join(args, " "))
			return addr, redis.NewClient(&redis.Options{Addr: addr}), nil
		}
		p.Kill()
		fmt.Fprintf(s.log, "bench: %s did not start (attempt %d): %v\n%s\n", name, attempt+1, err, p.Tail(2000))
	}
	return "", nil, err
}

// servicesUp runs scripts/services-up with the run's ports, stores and
// secrets, and notes the pids it wrote. Ports free when probed can be
// taken before a service binds them (the machine is shared), so a failed
// start is tried again, twice, with new ports.
func (s *stack) servicesUp() error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var ports [6]int
		for i := range ports {
			if ports[i], err = proc.FreePort(); err != nil {
				return err
			}
		}
		s.dtmPort, s.ordersPort, s.shopperPort, s.adminPort, s.internalPort = ports[0], ports[2], ports[3], ports[4], ports[5]
		env := s.servicesEnv(ports[1])
		cmd := exec.Command(filepath.Join(proc.ModuleRoot(), "scripts", "services-up"))
		cmd.Env = append(os.Environ(), env...)
		out, runErr := cmd.CombinedOutput()
		s.services = true
		if runErr == nil {
			names := []string{"dtm", "orders", "flashsale"}
			if s.dtmRedisPort != 0 {
				names = append(names, "dtm-redis")
			}
			for _, name := range names {
				b, err := os.ReadFile(filepath.Join(s.run, "pids", name+".pid"))
				if err != nil {
					return err
				}
				s.pids[name], _ = strconv.Atoi(strings.TrimSpace(string(b)))
				fmt.Fprintf(s.log, "bench: %s ready (pid %d, log %s)\n", name, s.pids[name], filepath.Join(s.run, "logs", name+".log"))
			}
			return nil
		}
		err = fmt.Errorf("scripts/services-up: %v\n%s", runErr, out)
		fmt.Fprintf(s.log, "bench: services-up failed (attempt %d): %v\n", attempt+1, err)
		s.servicesDown()
	}
	return err
}

// servicesEnv is the environment services-up runs with: every address
// the run's own, the secrets the bench mints tokens with.
func (s *stack) servicesEnv(grpcPort int) []string {
	// DTM_REDIS_ADDR empty: services-up starts dtm's store itself.
	dtmStore := "DTM_REDIS_ADDR=" + s.dtmStore
	if s.dtmRedisPort != 0 {
		dtmStore = "DTM_REDIS_ADDR="
	}
	env := []string{
		dtmStore, "DTM_REDIS_PORT=" + strconv.Itoa(s.dtmRedisPort),
		"FLASHSALE_RUN_DIR=" + s.run,
		"REDIS_ADDR=" + s.redisAddr, "REDIS_DB=0", "REDIS_PASSWORD=",
		"MYSQL_DSN=" + s.dsn,
		"FLASHSALE_ADDR=127.0.0.1:" + strconv.Itoa(s.shopperPort),
		"FLASHSALE_ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(s.adminPort),
		"FLASHSALE_INTERNAL_ADDR=127.0.0.1:" + strconv.Itoa(s.internalPort),
		"ORDERS_ADDR=127.0.0.1:" + strconv.Itoa(s.ordersPort),
		"DTM_HTTP_PORT=" + strconv.Itoa(s.dtmPort), "DTM_GRPC_PORT=" + strconv.Itoa(grpcPort),
		"DTM_IMPL=launcher", "READY_TIMEOUT=60",
		"FLASHSALE_JWT_SECRET=" + s.cfg.JWTSecret,
		"FLASHSALE_ADMIN_TOKEN=" + s.cfg.AdminToken,
		contract.KeyEnv + "=" + s.cfg.InternalKey,
	}
	// wrk dials from 127.0.0.1 and names its clients in X-Forwarded-For
	// (forwardedFor): 127.0.0.1 is trusted as a proxy, unless the
	// environment says otherwise. The generator's connections come from
	// 127.0.0.2 onwards, which stay untrusted.
	if s.cfg.Wrk && os.Getenv("FLASHSALE_TRUSTED_PROXIES") == "" {
		env = append(env, "FLASHSALE_TRUSTED_PROXIES=127.0.0.1")
	}
	return env
}

// servicesDown stops what services-up started.
func (s *stack) servicesDown() {
	cmd := exec.Command(filepath.Join(proc.ModuleRoot(), "scripts", "services-down"))
	cmd.Env = append(os.Environ(), "FLASHSALE_RUN_DIR="+s.run)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(s.log, "bench: services-down: %v\n%s", err, out)
	}
	for _, name := range []string{"dtm", "orders", "flashsale"} {
		delete(s.pids, name)
	}
	if s.dtmRedisPort != 0 {
		delete(s.pids, "dtm-redis")
	}
}

// benchsvcNames are the names scripts/bench/benchsvc runs under: links
// to the binary, so that each process's command name (what perf and ps
// show) tells the bare handler, the reference's app and its dtm apart.
var benchsvcNames = []string{"bare", "ref-app", "ref-dtm"}

// benchsvc returns a process of scripts/bench/benchsvc running as name,
// ready when readyURL answers 200.
func (s *stack) benchsvc(name, readyURL string, args ...string) *proc.Process {
	return &proc.Process{Name: name, Path: filepath.Join(s.bin, name), Args: args, Log: filepath.Join(s.dir, name+".log"),
		Ready: proc.HTTP(readyURL)}
}

// start starts the process newProc returns for nports fresh free ports and
// waits until it is ready, then notes its pid under name. A port free when probed can
// be taken by another process before the service binds it (the machine is
// shared), so a failed start is tried again, twice, with new ports.
func (s *stack) start(name string, newProc func(ports []int) *proc.Process, nports int) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		ports := make([]int, nports)
		for i := range ports {
			if ports[i], err = proc.FreePort(); err != nil {
				return err
			}
		}
		p := newProc(ports)
		s.procs = append(s.procs, p)
		if err = p.StartReady(context.Background(), time.Minute); err == nil {
			s.pids[name] = p.Pid()
			fmt.Fprintf(s.log, "bench: %s ready (pid %d, log %s)\n", name, s.pids[name], p.Log)
			return nil
		}
		p.Kill()
		fmt.Fprintf(s.log, "bench: %s did not start (attempt %d): %v\n", name, attempt+1, err)
	}
	return err
}

// stop kills p, started under its own name, and forgets it.
func (s *stack) stop(p *proc.Process) {
	p.Kill()
	delete(s.pids, p.Name)
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

// ceilingDSN is the DSN of the MariaDB ceiling's own database, beside
// the run's (sqlCeiling); close drops it.
func (s *stack) ceilingDSN() string {
	cfg, err := mysql.ParseDSN(s.dsn)
	if err != nil {
		panic("bench: the run's own DSN does not parse: " + err.Error())
	}
	cfg.DBName = s.dbName + "_ceiling"
	return cfg.FormatDSN()
}

// close stops every process and removes the run's database and, unless
// cfg.Keep, its directory (the Redis server's files with it).
func (s *stack) close() {
	if s.services {
		s.servicesDown()
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.dbName != "" {
		s.server.ExecContext(ctx, "DROP DATABASE "+s.dbName)
		s.server.ExecContext(ctx, "DROP DATABASE IF EXISTS "+s.dbName+"_ceiling")
	}
	if s.server != nil {
		s.server.Close()
	}
	if s.dir != "" && !s.cfg.Keep {
		os.RemoveAll(s.dir)
	}
}

func (s *stack) dtmURL() string     { return fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", s.dtmPort) }
func (s *stack) shopperURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.shopperPort) }
func (s *stack) adminURL() string   { return fmt.Sprintf("http://127.0.0.1:%d", s.adminPort) }
func (s *stack) shopperAddr() string {
	return fmt.Sprintf("127.0.0.1:%d", s.shopperPort)
}
