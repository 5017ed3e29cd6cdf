package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/redis/go-redis/v9"
)

// Secrets of the run's services (loopback only).
const (
	jwtSecret  = "chaos-jwt-secret-0123456789abcdef"
	adminToken = "chaos-admin-token-0123456789abcdef"
	// internalKey signs the calls between the services (FLASHSALE_INTERNAL_KEY).
	internalKey = "chaos-internal-key-0123456789abcdef0123"
)

// Fault points armed in every flashsale instance: a purchase of a user
// named vica<n> parks after its Lua step, vicb<n> before it, so that the
// runner kills the instance exactly there (internal/faultpoint).
const (
	victimAfterLua  = "vica"
	victimBeforeLua = "vicb"
)

// binaries are the programs a run starts.
type binaries struct {
	dtm, flashsale, orders, reconcile string
}

// fsPorts are one flashsale instance's listeners.
type fsPorts struct{ shopper, admin, internal int }

// stack is the services mode on loopback, every process its own: the run's
// own redis-server (stock and barriers, appendfsync everysec), a second
// one for the dtm server's store (appendfsync always, as
// scripts/services-up gives it: docs/durability.md), the dtm server, the
// order service, two flashsale instances, and the proxies the network
// faults go through. MySQL is the shared server, in a database of the
// run's own.
type stack struct {
	dir          string
	redisPort    int
	dtmRedisPort int // dtm's store; 0 in the cluster profile (on the cluster)
	dtmHTTP      int
	orders       int
	fs           [2]fsPorts

	redisProc, dtmRedisProc, dtmProc, ordersProc *proc.Process
	fsProc                                       [2]*proc.Process
	// redisNodes are the cluster profile's nodes (redisProc is nil then),
	// at nodeAddr.
	redisNodes []*proc.Process
	nodeAddr   []string
	// saleBound is the last activity whose stock's slots the cluster
	// profile's start checked against dtm's store's (cluster.go).
	saleBound int64
	// shards is the number of stock shards of the run's sales.
	shards int

	// storeLosses counts the faults that made dtm's store lose writes it
	// had acknowledged (or may have: a SIGKILL of its master): settlement
	// then also waits for the services' repair (settle.go).
	storeLosses atomic.Int32
	// repairs are the services' repair counters, as scraped (repairs.go).
	repairs repairCounts

	net    *network
	db     *database
	rdb    redis.UniversalClient
	dtmRDB *redis.Client // dtm's own store, for its readiness
	http   *http.Client
}

// newStack starts everything; close stops it.
func newStack(ctx context.Context, o options, bins binaries, progress io.Writer) (s *stack, err error) {
	s = &stack{dir: o.workdir, http: &http.Client{Timeout: 10 * time.Second}, shards: 1}
	if o.cluster {
		s.shards = clusterShards
	}
	defer func() {
		if err != nil {
			s.close(o.keep)
		}
	}()
	ports, err := freePorts(11 + 2*clusterNodes)
	if err != nil {
		return s, err
	}
	s.redisPort, s.dtmHTTP, s.orders = ports[0], ports[1], ports[3]
	if !o.cluster {
		s.dtmRedisPort = ports[10]
	}
	for i := range s.fs {
		s.fs[i] = fsPorts{shopper: ports[4+3*i], admin: ports[5+3*i], internal: ports[6+3*i]}
	}
	if s.db, err = newDatabase(ctx, o.mysqlAddr, o.mysqlUser, o.mysqlPassword); err != nil {
		return s, err
	}
	fmt.Fprintf(progress, "chaos: work dir %s, database %s, redis-server :%d\n", s.dir, s.db.name, s.redisPort)

	redisDir := filepath.Join(s.dir, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		return s, err
	}
	redis.SetLogger(quietRedis{})
	if o.cluster {
		if err := s.startCluster(ctx, o, ports[11:], int(o.storm/o.round)); err != nil {
			return s, err
		}
	} else {
		s.rdb = redis.NewClient(&redis.Options{Addr: s.redisAddr(), DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
		s.redisProc = &proc.Process{
			Name: "redis-server", Path: o.redisServer, Log: filepath.Join(s.dir, "redis.log"),
			Args: []string{"--port", strconv.Itoa(s.redisPort), "--bind", "127.0.0.1", "--appendonly", "yes",
				"--appendfsync", "everysec", "--dir", redisDir, "--save", "", "--daemonize", "no"},
			Ready: proc.Redis(s.redisAddr()),
		}
		// dtm's store: a redis-server of its own that fsyncs every write
		// before it answers. kill-redis is the stock's; lose-dtm-store
		// restarts this one from an older snapshot (dtmstore.go).
		dtmRedisDir := filepath.Join(s.dir, "dtm-redis")
		if err := os.MkdirAll(dtmRedisDir, 0o755); err != nil {
			return s, err
		}
		s.dtmRDB = redis.NewClient(&redis.Options{Addr: s.dtmStoreAddr(), DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
		s.dtmRedisProc = &proc.Process{
			Name: "dtm-redis", Path: o.redisServer, Log: filepath.Join(s.dir, "dtm-redis.log"),
			Args: []string{"--port", strconv.Itoa(s.dtmRedisPort), "--bind", "127.0.0.1", "--appendonly", "yes",
				"--appendfsync", "always", "--dir", dtmRedisDir, "--save", "", "--daemonize", "no"},
			Ready: proc.Redis(s.dtmStoreAddr()),
		}
	}
	s.dtmProc = &proc.Process{
		Name: "dtm", Path: bins.dtm, Log: filepath.Join(s.dir, "dtm.log"),
		Args: []string{"-http-port", strconv.Itoa(s.dtmHTTP), "-grpc-port", strconv.Itoa(ports[2]), "-redis", s.dtmStoreAddr(),
			"-redis-prefix", "{dtm}", "-dir", s.dir, "-log-level", "warn"},
		Ready: proc.HTTP(s.dtmURL() + "/version"),
	}
	// The proxies dial their upstream per connection: they can listen
	// before the services do.
	if s.net, err = newNetwork(s.addr(s.dtmHTTP), s.addr(s.orders), []string{s.addr(s.fs[0].internal), s.addr(s.fs[1].internal)}); err != nil {
		return s, err
	}
	s.ordersProc = &proc.Process{
		Name: "orders", Path: bins.orders, Log: filepath.Join(s.dir, "orders.log"),
		Env: []string{
			"ORDERS_ADDR=" + s.addr(s.orders), "MYSQL_DSN=" + s.db.dsn,
			// The MySQL server is shared and allows 151 connections by
			// default: the run keeps to a few dozen.
			"MYSQL_MAX_CONNS=16",
			// How the order service's cancellations (of the orders of the
			// sales with a short time to pay) reach the dtm server, and
			// how the dtm server reaches their branches and back-checks.
			"DTM_SERVER=" + s.dtmURL(),
			"ORDERS_URL=http://" + s.net.addr(linkDTMOrders),
			"FLASHSALE_INTERNAL_URL=http://" + s.net.addr(linkDTMFS),
			contract.KeyEnv + "=" + internalKey,
		},
		Ready: proc.HTTP("http://" + s.addr(s.orders) + "/readyz"),
	}
	for _, p := range []*proc.Process{s.redisProc, s.dtmRedisProc, s.dtmProc, s.ordersProc} {
		if p == nil {
			continue // the cluster's nodes, started already
		}
		if err := p.EnsureReady(ctx, stallAfter, 30*time.Second); err != nil {
			return s, err
		}
	}
	for i := range s.fs {
		link := []string{linkFS1DTM, linkFS2DTM}[i]
		s.fsProc[i] = &proc.Process{
			Name: fmt.Sprintf("flashsale%d", i+1), Path: bins.flashsale, Log: filepath.Join(s.dir, fmt.Sprintf("flashsale%d.log", i+1)),
			Env: []string{
				"FLASHSALE_ADDR=" + s.addr(s.fs[i].shopper),
				"FLASHSALE_ADMIN_ADDR=" + s.addr(s.fs[i].admin),
				"FLASHSALE_INTERNAL_ADDR=" + s.addr(s.fs[i].internal),
				"FLASHSALE_INTERNAL_URL=http://" + s.net.addr(linkDTMFS),
				"REDIS_ADDR=" + s.redisAddr(), "REDIS_DB=0",
				"MYSQL_DSN=" + s.db.dsn, "MYSQL_MAX_CONNS=8",
				"DTM_SERVER=http://" + s.net.addr(link) + "/api/dtmsvr",
				"ORDERS_URL=http://" + s.net.addr(linkDTMOrders),
				"FLASHSALE_JWT_SECRET=" + jwtSecret,
				"FLASHSALE_ADMIN_TOKEN=" + adminToken,
				contract.KeyEnv + "=" + internalKey,
				// The limits would turn the run's one client address away;
				// they are tested on their own (tests/gates_test.go).
				"FLASHSALE_RATE_PER_USER=0", "FLASHSALE_RATE_PER_IP=0",
				"FLASHSALE_FAULTPOINTS=after-lua:-" + victimAfterLua + ",before-lua:-" + victimBeforeLua,
			},
			Ready: proc.HTTP(fmt.Sprintf("http://%s/readyz", s.addr(s.fs[i].shopper))),
		}
		if err := s.fsProc[i].EnsureReady(ctx, stallAfter, 30*time.Second); err != nil {
			return s, err
		}
	}
	return s, nil
}

// stallAfter is how long a started process may stay unready before it is
// killed and started again (proc.Process.EnsureReady): the dtm server, for
// one, keeps running without its HTTP listener when it could not bind it.
const stallAfter = 20 * time.Second

// quietRedis drops go-redis's own log lines ("failed to dial" while the
// run's redis-server is down on purpose).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func (s *stack) addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// redisAddr is the Redis server's address, or the cluster nodes'
// addresses, comma-separated.
func (s *stack) redisAddr() string {
	if len(s.nodeAddr) > 0 {
		return strings.Join(s.nodeAddr, ",")
	}
	return s.addr(s.redisPort)
}

// dtmStoreAddr is the address of the dtm server's store: its own
// redis-server, or in the cluster profile the cluster's nodes.
func (s *stack) dtmStoreAddr() string {
	if s.dtmRedisPort == 0 {
		return s.redisAddr()
	}
	return s.addr(s.dtmRedisPort)
}

// dtmURL is the dtm server's API base, reached directly (not through a
// faulty link): what an operator and the reconciliation use.
func (s *stack) dtmURL() string { return "http://" + s.addr(s.dtmHTTP) + "/api/dtmsvr" }

func (s *stack) shopperURL(i int) string { return "http://" + s.addr(s.fs[i].shopper) }
func (s *stack) adminURL(i int) string   { return "http://" + s.addr(s.fs[i].admin) }

// procs lists every process of the stack.
func (s *stack) procs() []*proc.Process {
	if s.redisProc == nil {
		return append([]*proc.Process{s.fsProc[0], s.fsProc[1], s.ordersProc, s.dtmProc}, s.redisNodes...)
	}
	return []*proc.Process{s.fsProc[0], s.fsProc[1], s.ordersProc, s.dtmProc, s.redisProc, s.dtmRedisProc}
}

// close kills every process (by pid), stops the proxies, and drops the
// database and the work dir unless keep.
func (s *stack) close(keep bool) {
	for _, p := range s.procs() {
		if p != nil {
			p.Kill()
		}
	}
	if s.net != nil {
		s.net.close()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.dtmRDB != nil {
		s.dtmRDB.Close()
	}
	if s.db != nil && !keep {
		s.db.drop()
	}
}

// freePorts returns n ports free right now (proc.FreePort: below the
// kernel's ephemeral range, so that a process of the run restarts on its
// port while the run makes thousands of outgoing connections).
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		var err error
		if ports[i], err = proc.FreePort(); err != nil {
			return nil, err
		}
	}
	return ports, nil
}
