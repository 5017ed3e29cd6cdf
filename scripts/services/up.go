package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
)

// up starts what of the services mode does not run, then waits until
// every process is ready.
func up(ctx context.Context, c config, con console) error {
	if err := c.checkSecrets(); err != nil {
		return err
	}
	c, err := c.ensureInternalKey()
	if err != nil {
		return err
	}
	if c.ownDTMRedis {
		if _, err := exec.LookPath("redis-server"); err != nil {
			return errors.New("redis-server is not on PATH: dtm's store is a Redis server of its own (or set DTM_REDIS_ADDR)")
		}
	}
	for _, d := range []string{"bin", "logs", "pids", "dtm"} {
		if err := os.MkdirAll(filepath.Join(c.run, d), 0o755); err != nil {
			return err
		}
	}
	all := c.services()
	procs := map[string]*proc.Process{}
	var toStart []service
	for _, s := range all {
		p := c.process(s)
		procs[s.name] = p
		if pid, err := p.Adopt(); err == nil {
			con.say("%s is already running (pid %d); scripts/services-down first to restart it", s.name, pid)
			continue
		}
		if err := checkFree(ctx, s); err != nil {
			return err
		}
		toStart = append(toStart, s)
	}
	if len(toStart) > 0 {
		if err := start(ctx, c, con, toStart, procs); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, c, all, procs); err != nil {
		return err
	}
	c.summary(con)
	return nil
}

// start builds the programs and starts the services toStart.
func start(ctx context.Context, c config, con console, toStart []service, procs map[string]*proc.Process) error {
	if err := c.checkStores(ctx); err != nil {
		return err
	}
	con.say("building dtm, flashsale, orders into %s", c.rel(filepath.Join(c.run, "bin")))
	if err := proc.Build(filepath.Join(c.run, "bin"), "", "./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders"); err != nil {
		return err
	}
	names := make([]string, len(toStart))
	for i, s := range toStart {
		names[i] = s.name
	}
	if c.dtmImpl == "module" && slices.Contains(names, "dtm") {
		if err := c.installModuleDTM(ctx); err != nil {
			return err
		}
	}
	if slices.Contains(names, "dtm-redis") {
		if err := c.linkDTMRedis(); err != nil {
			return err
		}
	}
	for _, s := range toStart {
		p := procs[s.name]
		// Again: something may have taken a port while the build ran.
		if err := checkFree(ctx, s); err != nil {
			return err
		}
		if err := p.Start(); err != nil {
			return err
		}
		con.say("started %s (pid %d), log %s", s.name, p.Pid(), c.rel(p.Log))
		if s.name == "dtm-redis" {
			// dtm exits at once without its store: wait for it first.
			if err := p.WaitReady(ctx, c.readyTimeout); err != nil {
				return fmt.Errorf("dtm-redis does not answer PING at %s: %w", c.dtmRedis, err)
			}
		}
	}
	return nil
}

// checkFree fails when something listens where s would.
func checkFree(ctx context.Context, s service) error {
	for _, a := range s.addrs {
		if taken(ctx, a) {
			return fmt.Errorf("cannot start %s: %s is already in use by another process%s;\n"+
				"stop it, or choose other addresses (FLASHSALE_ADDR, FLASHSALE_ADMIN_ADDR, FLASHSALE_INTERNAL_ADDR, ORDERS_ADDR, DTM_HTTP_PORT, DTM_GRPC_PORT, DTM_REDIS_PORT)",
				s.name, a, holder(a))
		}
	}
	return nil
}

// checkStores fails unless the stores answer: the services exit at once
// without them.
func (c config) checkStores(ctx context.Context) error {
	redis1, _, _ := strings.Cut(c.redisAddr, ",") // dtm takes a single Redis address
	if !taken(ctx, redis1) {
		return fmt.Errorf("no Redis at %s (REDIS_ADDR)", redis1)
	}
	if !c.ownDTMRedis && !taken(ctx, c.dtmRedis) {
		return fmt.Errorf("no Redis at %s (DTM_REDIS_ADDR)", c.dtmRedis)
	}
	if m := mysqlAddr.FindStringSubmatch(c.mysqlDSN); m != nil {
		addr := m[1]
		if !strings.Contains(addr, ":") {
			addr += ":3306"
		}
		if !taken(ctx, addr) {
			return fmt.Errorf("no MySQL/MariaDB at %s (MYSQL_DSN)", addr)
		}
	}
	return nil
}

var mysqlAddr = regexp.MustCompile(`@tcp\(([^)]+)\)`)

// installModuleDTM puts dtm's own binary (scripts/build-dtm) in place of
// the launcher, with the config file the launcher writes for the same
// settings.
func (c config) installModuleDTM(ctx context.Context) error {
	buildDTM := filepath.Join(c.root, "scripts", "build-dtm")
	if exec.CommandContext(ctx, buildDTM, "--check").Run() != nil {
		return errors.New("DTM_IMPL=module runs dtm's own binary: build it first with scripts/build-dtm (needs npm)")
	}
	write := exec.CommandContext(ctx, c.bin("dtm"), append(c.dtmLauncherArgs(), "-write-config", c.dtmConfig())...)
	if out, err := write.CombinedOutput(); err != nil {
		return fmt.Errorf("dtm -write-config: %v\n%s", err, out)
	}
	dir, err := exec.CommandContext(ctx, buildDTM, "--dir").Output()
	if err != nil {
		return fmt.Errorf("scripts/build-dtm --dir: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "bin", "dtm"))
	if err != nil {
		return err
	}
	os.Remove(c.bin("dtm"))
	return os.WriteFile(c.bin("dtm"), b, 0o755)
}

// linkDTMRedis makes .run/bin/dtm-redis, redis-server under a name of
// its own, which the pid checks here and in down look for.
func (c config) linkDTMRedis() error {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	if server, err = filepath.Abs(server); err != nil {
		return err
	}
	os.Remove(c.bin("dtm-redis"))
	if err := os.Symlink(server, c.bin("dtm-redis")); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(c.run, "dtm-redis"), 0o755)
}

// waitReady waits, bounded, until every service is ready, and gives up
// early when one has ended.
func waitReady(ctx context.Context, c config, all []service, procs map[string]*proc.Process) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() {
			p := procs[s.name]
			if errs[i] = p.WaitReady(ctx, c.readyTimeout); errs[i] != nil && !p.Alive() {
				cancel()
			}
		})
	}
	wg.Wait()
	var ended, pending []string
	var endedWhy, pendingWhy []error
	for i, s := range all {
		switch {
		case errs[i] == nil:
		case !procs[s.name].Alive():
			ended, endedWhy = append(ended, s.name), append(endedWhy, errs[i])
		default:
			pending, pendingWhy = append(pending, s.name), append(pendingWhy, errs[i])
		}
	}
	logs := c.rel(filepath.Join(c.run, "logs"))
	if len(ended) > 0 {
		return fmt.Errorf("%w\nexited before ready: %s (logs in %s/); scripts/services-down stops the rest",
			errors.Join(endedWhy...), strings.Join(ended, " "), logs)
	}
	if len(pending) > 0 {
		var urls []string
		for _, s := range all {
			if slices.Contains(pending, s.name) {
				urls = append(urls, s.ready...)
			}
		}
		return fmt.Errorf("%w\nnot ready after %s: %s (readiness: %s); scripts/services-down stops the rest",
			errors.Join(pendingWhy...), c.readyTimeout, strings.Join(pending, " "), strings.Join(urls, " "))
	}
	return nil
}

// taken reports whether something accepts TCP connections at addr within
// 2 s.
func taken(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return proc.TCP(addr)(ctx) == nil
}

// holder names the process that listens on addr's port, as ss shows it
// (" (held by ...)"; "" without ss).
func holder(addr string) string {
	port := addr[strings.LastIndex(addr, ":")+1:]
	out, err := exec.Command("ss", "-Hltnp", "sport = :"+port).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if m := ssUsers.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
		return " (held by " + m[1] + ")"
	}
	return ""
}

var ssUsers = regexp.MustCompile(`users:\((.*)\)$`)

// summary tells where everything is, once it is ready.
func (c config) summary(con console) {
	store := "redis://" + c.dtmRedis + " prefix {dtm}"
	if c.ownDTMRedis {
		store += " (dtm-redis: appendfsync always, files in " + filepath.Join(c.run, "dtm-redis") + ")"
	}
	dashboard := "not built: scripts/build-dtm builds it (needs npm), then scripts/services-down and up again"
	if exec.Command(filepath.Join(c.root, "scripts", "build-dtm"), "--check").Run() == nil {
		dashboard = fmt.Sprintf("http://127.0.0.1:%d/", c.dtmHTTP)
	}
	shop, admin := "http://"+localAddr(c.shopperAddr), "http://"+localAddr(c.adminAddr)
	con.say("all ready")
	fmt.Fprintf(con.w, `  shopper API  %s/api/v1/activities
  admin API    %s/admin/v1/   (Authorization: Bearer $FLASHSALE_ADMIN_TOKEN)
  orders       %s
  dtm API      %s
  dtm store    %s
  dtm dashboard %s
  shopper page %s/   sale view %s/
  logs         %s/   stop: scripts/services-down
A shopper token (signed with $FLASHSALE_JWT_SECRET):
  go run ./flashsale/cmd/mint-token -user alice
  curl -H "Authorization: Bearer $(go run ./flashsale/cmd/mint-token -user alice)" %s/api/v1/activities
`, shop, admin, c.ordersURL(), c.dtmServer(), store, dashboard, shop, admin, c.rel(filepath.Join(c.run, "logs")), shop)
}
