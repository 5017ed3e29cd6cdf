package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/flashsale/flashsale/internal/proc"
)

// service is one process of the services mode.
type service struct {
	name  string
	args  []string
	addrs []string   // where it listens (HOST:PORT, as a client dials it): free before it starts
	ready []string   // what answers once it is ready: URLs that answer 200, or redis://HOST:PORT that answers PING
	probe proc.Probe // asks ready
}

// services are the processes of the mode, in the order they start:
// dtm's store (when it is started here), dtm, orders, flashsale.
func (c config) services() []service {
	var out []service
	if c.ownDTMRedis {
		out = append(out, service{name: "dtm-redis", args: []string{"--port", strconv.Itoa(c.dtmRedisPort), "--bind", "127.0.0.1",
			"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", filepath.Join(c.run, "dtm-redis"), "--daemonize", "no"},
			addrs: []string{c.dtmRedis}})
	}
	dtmArgs := c.dtmLauncherArgs()
	if c.dtmImpl == "module" {
		dtmArgs = []string{"-c", c.dtmConfig()}
	}
	// dtm listens on every interface (the dtm module binds ":port").
	out = append(out,
		service{name: "dtm", args: dtmArgs, addrs: []string{c.dtmLocal(c.dtmHTTP), c.dtmLocal(c.dtmGRPC)}},
		service{name: "orders", addrs: []string{localAddr(c.ordersAddr)}},
		service{name: "flashsale", addrs: []string{localAddr(c.shopperAddr), localAddr(c.adminAddr), localAddr(c.internalAddr)}})
	for i := range out {
		out[i].ready, out[i].probe = c.readiness(out[i])
	}
	return out
}

// dtmLauncherArgs are the arguments of the launcher, dtmconf/cmd/dtm.
func (c config) dtmLauncherArgs() []string {
	return []string{"-store", "redis", "-redis", c.dtmRedis, "-redis-prefix", "{dtm}",
		"-http-port", strconv.Itoa(c.dtmHTTP), "-grpc-port", strconv.Itoa(c.dtmGRPC), "-dir", filepath.Join(c.run, "dtm")}
}

// dtmConfig is the config file dtm's own binary runs with (DTM_IMPL=module).
func (c config) dtmConfig() string { return filepath.Join(c.run, "dtm", "dtm.yml") }

func (c config) dtmLocal(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// readiness returns what answers once s is ready, and the probe that asks.
func (c config) readiness(s service) ([]string, proc.Probe) {
	switch s.name {
	case "dtm-redis":
		return []string{"redis://" + c.dtmRedis}, proc.Redis(c.dtmRedis)
	case "dtm":
		u := c.dtmServer() + "/version"
		return []string{u}, proc.HTTP(u)
	}
	var urls []string
	var probes []proc.Probe
	for _, a := range s.addrs {
		u := "http://" + a + "/readyz"
		urls, probes = append(urls, u), append(probes, proc.HTTP(u))
	}
	return urls, proc.All(probes...)
}

// The URLs the services reach each other at point at the processes
// started here, whatever the caller's environment says, so that the three
// always talk to each other. orders reads them too: the cancellation of
// an unpaid order is a dtm message whose back-check is ORDERS_URL and
// whose branch is on FLASHSALE_INTERNAL_URL.
func (c config) dtmServer() string   { return fmt.Sprintf("http://127.0.0.1:%d/api/dtmsvr", c.dtmHTTP) }
func (c config) ordersURL() string   { return "http://" + localAddr(c.ordersAddr) }
func (c config) internalURL() string { return "http://" + localAddr(c.internalAddr) }

// env is the environment every service gets besides the command's own.
func (c config) env() []string {
	return append([]string{
		"FLASHSALE_JWT_SECRET=" + c.jwtSecret, "FLASHSALE_ADMIN_TOKEN=" + c.adminToken, keyEnv + "=" + c.internalKey,
		"REDIS_ADDR=" + c.redisAddr, "MYSQL_DSN=" + c.mysqlDSN,
		"FLASHSALE_ADDR=" + c.shopperAddr, "FLASHSALE_ADMIN_ADDR=" + c.adminAddr,
		"FLASHSALE_INTERNAL_ADDR=" + c.internalAddr, "ORDERS_ADDR=" + c.ordersAddr,
		"DTM_SERVER=" + c.dtmServer(), "ORDERS_URL=" + c.ordersURL(), "FLASHSALE_INTERNAL_URL=" + c.internalURL(),
	}, c.passThrough...)
}

// process is s as a process of the run directory: .run/bin/<name>,
// detached, its log and pid file there.
func (c config) process(s service) *proc.Process {
	return &proc.Process{Name: s.name, Path: c.bin(s.name), Args: s.args, Env: c.env(), Detach: true, Ready: s.probe,
		Log: c.logFile(s.name), PidFile: filepath.Join(c.run, "pids", s.name+".pid")}
}

func (c config) bin(name string) string     { return filepath.Join(c.run, "bin", name) }
func (c config) logFile(name string) string { return filepath.Join(c.run, "logs", name+".log") }
