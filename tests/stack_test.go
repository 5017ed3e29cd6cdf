package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/httpjson"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/reconcile"
)

const (
	jwtSecret  = "integration-jwt-secret-0123456789"
	adminToken = "integration-admin-token-0123456789"
	// internalKey signs the calls between the services (FLASHSALE_INTERNAL_KEY).
	internalKey = "integration-internal-key-0123456789abcdef"
)

// stack is the services mode on loopback: a dtm server on Redis, the order
// service and one flashsale, each its own process, on free ports, and the
// harness the tests drive the sale through.
type stack struct {
	*saletest.Harness
	t                        *testing.T
	dir                      string
	dtmPort, ordersPort      int
	dtmGRPC                  int
	shopper, admin, internal int
	dtm, orders, flashsale   *proc.Process
	http                     *http.Client
	// dtmPrefix is dtm's -redis-prefix, a hash tag: on a cluster, every
	// key of dtm's store lives in its slot.
	dtmPrefix string
}

// newStack starts a stack and stops it when t ends. flashsaleEnv is added to
// flashsale's environment (for example armed fault points); the rate limits
// and the admission bound are off unless flashsaleEnv sets them, so that
// concurrency tests measure the purchase, not the limiters (TestRateLimits
// and TestAdmission test those).
func newStack(t *testing.T, flashsaleEnv ...string) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{flashsaleEnv: flashsaleEnv})
}

// stackOptions change what newStackWith starts.
type stackOptions struct {
	// dtmRedis is the address of dtm's store ("": the run's, env.dtmStore).
	dtmRedis     string
	flashsaleEnv []string
	ordersEnv    []string
}

// newStackWith starts a stack as o says and stops it when t ends.
func newStackWith(t *testing.T, o stackOptions) *stack {
	t.Helper()
	flashsaleEnv := o.flashsaleEnv
	needServers(t)
	s := &stack{t: t, dir: t.TempDir(), http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	s.dtmPort, s.ordersPort = testenv.FreePort(t), testenv.FreePort(t)
	s.shopper, s.admin, s.internal = testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	s.dtmPrefix = env.dtmPrefix
	dtmRedis := env.redisAddr
	if env.dtmStore != nil {
		dtmRedis = env.dtmStore.addr()
	}
	if o.dtmRedis != "" {
		dtmRedis = o.dtmRedis
	}
	s.dtmGRPC = testenv.FreePort(t)
	s.dtm = s.newProc("dtm", []string{"-http-port", strconv.Itoa(s.dtmPort), "-grpc-port", strconv.Itoa(s.dtmGRPC),
		"-redis", dtmRedis, "-redis-prefix", s.dtmPrefix, "-dir", s.dir, "-log-level", getenv("IT_DTM_LOG_LEVEL", "warn")}, nil)
	s.orders = s.newProc("orders", nil, append([]string{"ORDERS_ADDR=127.0.0.1:" + strconv.Itoa(s.ordersPort), "MYSQL_DSN=" + env.mysqlDSN,
		"DTM_SERVER=" + s.dtmURL(), "ORDERS_URL=" + s.ordersURL(), "FLASHSALE_INTERNAL_URL=" + s.internalURL(),
		contract.KeyEnv + "=" + internalKey}, o.ordersEnv...))
	s.flashsale = s.newProc("flashsale", nil, append([]string{
		"FLASHSALE_ADDR=127.0.0.1:" + strconv.Itoa(s.shopper),
		"FLASHSALE_ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(s.admin),
		"FLASHSALE_INTERNAL_ADDR=127.0.0.1:" + strconv.Itoa(s.internal),
		"REDIS_ADDR=" + env.redisAddr, "REDIS_DB=" + strconv.Itoa(env.redisDB),
		"MYSQL_DSN=" + env.mysqlDSN,
		"DTM_SERVER=" + s.dtmURL(),
		"ORDERS_URL=http://127.0.0.1:" + strconv.Itoa(s.ordersPort),
		"FLASHSALE_JWT_SECRET=" + jwtSecret,
		"FLASHSALE_ADMIN_TOKEN=" + adminToken,
		contract.KeyEnv + "=" + internalKey,
		"FLASHSALE_RATE_PER_USER=0", "FLASHSALE_RATE_PER_IP=0", "FLASHSALE_ADMISSION_FACTOR=0",
	}, flashsaleEnv...))
	s.dtm.Ready = proc.HTTP(s.dtmURL() + "/version")
	s.orders.Ready = proc.HTTP(s.ordersURL() + "/readyz")
	s.flashsale.Ready = proc.HTTP(s.shopperURL() + "/readyz")
	t.Cleanup(func() {
		for _, p := range []*proc.Process{s.flashsale, s.orders, s.dtm} {
			p.Kill()
		}
		if t.Failed() {
			for _, p := range []*proc.Process{s.dtm, s.orders, s.flashsale} {
				t.Logf("---- %s log (last 3000 bytes) ----\n%s", p.Name, p.Tail(3000))
			}
		}
	})
	startProc(t, s.dtm)
	startProc(t, s.orders)
	startProc(t, s.flashsale)
	s.connect()
	return s
}

func (s *stack) dtmURL() string      { return fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", s.dtmPort) }
func (s *stack) ordersURL() string   { return fmt.Sprintf("http://127.0.0.1:%d", s.ordersPort) }
func (s *stack) shopperURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.shopper) }
func (s *stack) adminURL() string    { return fmt.Sprintf("http://127.0.0.1:%d", s.admin) }
func (s *stack) internalURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.internal) }

func (s *stack) newProc(name string, args, env []string) *proc.Process {
	return &proc.Process{Name: name, Path: filepath.Join(envBin(), name), Args: args, Env: env, Log: filepath.Join(s.dir, name+".log")}
}

// startProc starts p and waits until it is ready, or fails t.
func startProc(t testing.TB, p *proc.Process) {
	t.Helper()
	if err := p.StartReady(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
}

// waitLine waits until p printed a line containing substr, and returns
// it, or fails t.
func waitLine(t testing.TB, p *proc.Process, substr string, timeout time.Duration) string {
	t.Helper()
	line, err := p.WaitLine(substr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// listeners names the stack's listeners for apitest.
func (s *stack) listeners() apitest.Listeners {
	return apitest.Listeners{s.shopperURL(): apitest.Shopper, s.adminURL(): apitest.Admin,
		s.internalURL(): apitest.Internal, s.ordersURL(): apitest.Orders}
}

// connect makes the harness of the stack's listeners: the activities it
// creates give 900 s to pay unless a test says otherwise.
func (s *stack) connect() {
	src := s.sources()
	s.Harness = saletest.New(s.t, saletest.Config{
		Shopper: s.shopperURL(), Admin: s.adminURL(), Internal: s.internalURL(), Orders: s.ordersURL(),
		AdminToken: adminToken, JWTSecret: jwtSecret, HTTP: s.http, Stores: &src,
	})
	s.PayTimeout = 900
}

func (s *stack) sources() reconcile.Sources {
	return reconcile.Sources{Redis: env.rdb, DB: env.db, DTM: s.dtmURL(), HTTP: s.http}
}

// restartFlashsale kills flashsale and starts it again with env replacing
// the extra environment it was started with.
func (s *stack) restartFlashsale(env ...string) {
	s.t.Helper()
	s.flashsale.Kill()
	base := s.flashsale.Env[:0:0]
	for _, kv := range s.flashsale.Env {
		if !strings.HasPrefix(kv, "FLASHSALE_FAULTPOINTS=") {
			base = append(base, kv)
		}
	}
	s.flashsale.Env = append(base, env...)
	startProc(s.t, s.flashsale)
}

// dtmStatus returns the dtm status of gid (dtmclient.NoMessage when dtm
// does not know it).
func (s *stack) dtmStatus(gid string) string {
	s.t.Helper()
	st, err := dtmclient.MessageStatus(context.Background(), s.http, dtmclient.ParseGroups(s.dtmURL()), gid)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// dtmNextTry returns when dtm next looks at transaction gid (its
// next_cron_time: a backed-off retry, a back-check).
func (s *stack) dtmNextTry(gid string) time.Time {
	s.t.Helper()
	var body struct {
		Transaction *struct {
			NextCronTime time.Time `json:"next_cron_time"`
		} `json:"transaction"`
	}
	if err := httpjson.Get(context.Background(), s.http, s.dtmURL()+"/query?gid="+url.QueryEscape(gid), &body); err != nil || body.Transaction == nil {
		s.t.Fatalf("dtm's transaction %s: %v", gid, err)
	}
	return body.Transaction.NextCronTime
}

// dtmMessages lists dtm's transactions whose gid starts with one of
// prefixes, as gid -> status.
func (s *stack) dtmMessages(prefixes ...string) map[string]string {
	s.t.Helper()
	msgs, err := dtmclient.ListMessages(context.Background(), s.http, dtmclient.ParseGroups(s.dtmURL()), prefixes...)
	if err != nil {
		s.t.Fatal(err)
	}
	return msgs
}

// redisStock returns the activity's Redis stock counter.
func redisStock(t *testing.T, act int64) int64 {
	t.Helper()
	n, err := env.rdb.Get(context.Background(), fmt.Sprintf("{fs:%d}:stock", act)).Int64()
	if err != nil {
		t.Fatalf("redis stock of %d: %v", act, err)
	}
	return n
}

// orderCount counts the activity's orders in MySQL.
func orderCount(t *testing.T, act int64) int {
	t.Helper()
	var n int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM orders WHERE activity_id = ?", act).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// instance is one more flashsale process of a stack, on its own ports,
// and its listeners' harness.
type instance struct {
	*saletest.Harness
	proc           *proc.Process
	shopper, admin string
}

// addFlashsale starts another flashsale instance against the stack's dtm
// server, orders service and stores; env overrides its environment.
func (s *stack) addFlashsale(name string, env ...string) *instance {
	s.t.Helper()
	sp, ap, ip := testenv.FreePort(s.t), testenv.FreePort(s.t), testenv.FreePort(s.t)
	base := []string{}
	for _, kv := range s.flashsale.Env {
		if !strings.HasPrefix(kv, "FLASHSALE_ADDR=") && !strings.HasPrefix(kv, "FLASHSALE_ADMIN_ADDR=") && !strings.HasPrefix(kv, "FLASHSALE_INTERNAL_ADDR=") {
			base = append(base, kv)
		}
	}
	p := s.newProc("flashsale", nil, append(append(base,
		"FLASHSALE_ADDR=127.0.0.1:"+strconv.Itoa(sp), "FLASHSALE_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(ap), "FLASHSALE_INTERNAL_ADDR=127.0.0.1:"+strconv.Itoa(ip)), env...))
	in := &instance{proc: p, shopper: "http://127.0.0.1:" + strconv.Itoa(sp), admin: "http://127.0.0.1:" + strconv.Itoa(ap)}
	p.Name, p.Log, p.Ready = name, filepath.Join(s.dir, name+".log"), proc.HTTP(in.shopper+"/readyz")
	s.t.Cleanup(func() {
		p.Kill()
		if s.t.Failed() {
			s.t.Logf("---- %s log ----\n%s", name, p.Tail(2000))
		}
	})
	startProc(s.t, p)
	in.Harness = s.At(in.shopper, in.admin)
	return in
}
