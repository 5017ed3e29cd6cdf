package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// keyEnv names the key that signs the calls between the services:
// contract.KeyEnv, named here again because the contract package links
// dtm's client, whose logger prints a stray line at the start of every
// program that links it.
const keyEnv = "FLASHSALE_INTERNAL_KEY"

// config is the services mode as the environment sets it up.
type config struct {
	root string // the repository
	run  string // FLASHSALE_RUN_DIR, absolute

	jwtSecret, adminToken, internalKey string // internalKey "": made by up

	redisAddr, mysqlDSN string
	// The services' listen addresses.
	shopperAddr, adminAddr, internalAddr, ordersAddr string
	dtmHTTP, dtmGRPC                                 int
	dtmImpl                                          string // launcher or module
	// dtmRedis is dtm's store; ownDTMRedis: dtm-redis, started here, on
	// dtmRedisPort.
	dtmRedis     string
	ownDTMRedis  bool
	dtmRedisPort int
	// passThrough is the environment handed to the services as it is
	// (REDIS_PASSWORD, REDIS_DB).
	passThrough []string

	readyTimeout, stopTimeout time.Duration
}

// load reads the configuration from the environment, the run directory
// relative to root.
func load(root string, getenv func(string) string) (config, error) {
	or := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	c := config{
		root:       root,
		jwtSecret:  getenv("FLASHSALE_JWT_SECRET"),
		adminToken: getenv("FLASHSALE_ADMIN_TOKEN"), internalKey: getenv(keyEnv),
		redisAddr:    or("REDIS_ADDR", "127.0.0.1:6379"),
		mysqlDSN:     or("MYSQL_DSN", "root@tcp(127.0.0.1:3306)/flashsale"),
		shopperAddr:  or("FLASHSALE_ADDR", "127.0.0.1:8080"),
		adminAddr:    or("FLASHSALE_ADMIN_ADDR", "127.0.0.1:8081"),
		internalAddr: or("FLASHSALE_INTERNAL_ADDR", "127.0.0.1:8082"),
		ordersAddr:   or("ORDERS_ADDR", "127.0.0.1:8090"),
		dtmImpl:      or("DTM_IMPL", "launcher"),
		dtmRedis:     getenv("DTM_REDIS_ADDR"),
	}
	c.run = or("FLASHSALE_RUN_DIR", filepath.Join(root, ".run"))
	if !filepath.IsAbs(c.run) {
		c.run = filepath.Join(root, c.run)
	}
	for _, key := range []string{"REDIS_PASSWORD", "REDIS_DB"} {
		if v := getenv(key); v != "" {
			c.passThrough = append(c.passThrough, key+"="+v)
		}
	}
	var errs []string
	number := func(key, def string) int {
		n, err := strconv.Atoi(or(key, def))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s=%s: want a number", key, getenv(key)))
		}
		return n
	}
	c.dtmHTTP, c.dtmGRPC = number("DTM_HTTP_PORT", "36789"), number("DTM_GRPC_PORT", "36790")
	c.dtmRedisPort = number("DTM_REDIS_PORT", "6390")
	c.readyTimeout = time.Duration(number("READY_TIMEOUT", "30")) * time.Second
	c.stopTimeout = time.Duration(number("STOP_TIMEOUT", "10")) * time.Second
	if c.dtmImpl != "launcher" && c.dtmImpl != "module" {
		errs = append(errs, fmt.Sprintf("DTM_IMPL=%s: want launcher or module", c.dtmImpl))
	}
	if c.dtmRedis == "" {
		c.ownDTMRedis, c.dtmRedis = true, "127.0.0.1:"+strconv.Itoa(c.dtmRedisPort)
	} else if strings.Contains(c.dtmRedis, ",") {
		errs = append(errs, fmt.Sprintf("dtm's Redis store takes one address; DTM_REDIS_ADDR is a list (%s)", c.dtmRedis))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return c, nil
}

// checkSecrets fails unless the secrets the services need are set.
func (c config) checkSecrets() error {
	for _, s := range []struct{ key, val string }{{"FLASHSALE_JWT_SECRET", c.jwtSecret}, {"FLASHSALE_ADMIN_TOKEN", c.adminToken}} {
		if s.val == "" {
			return fmt.Errorf(`%s is not set; export it first (at least 16 characters), e.g.
  export FLASHSALE_JWT_SECRET=dev-jwt-secret-0123456789 FLASHSALE_ADMIN_TOKEN=dev-admin-token-0123456789`, s.key)
		}
		if len(s.val) < 16 {
			return fmt.Errorf("%s must be at least 16 characters", s.key)
		}
	}
	return nil
}

// keyFile keeps the internal key up made, so that a restart (and services
// still running) keep it.
func (c config) keyFile() string { return filepath.Join(c.run, "internal.key") }

// ensureInternalKey returns c with its internal key: FLASHSALE_INTERNAL_KEY,
// or the one kept in the run directory, made at the first up.
func (c config) ensureInternalKey() (config, error) {
	if c.internalKey == "" {
		b, err := os.ReadFile(c.keyFile())
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			if err := writeNewKey(c.keyFile()); err != nil {
				return c, err
			}
			b, err = os.ReadFile(c.keyFile())
			if err != nil {
				return c, err
			}
		}
		c.internalKey = strings.TrimSpace(string(b))
	}
	if len(c.internalKey) < 32 {
		return c, fmt.Errorf("%s must be at least 32 bytes", keyEnv)
	}
	return c, nil
}

// writeNewKey writes a new random key, 32 bytes in hex, into the file at
// path, which only its owner reads.
func writeNewKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b := make([]byte, 32)
	rand.Read(b)
	return os.WriteFile(path, []byte(hex.EncodeToString(b)), 0o600)
}

// rel is path as messages show it: relative to the repository when it is
// in it.
func (c config) rel(path string) string {
	if r, err := filepath.Rel(c.root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// localAddr is a listen address HOST:PORT as a client on this machine
// dials it: a wildcard host becomes 127.0.0.1.
func localAddr(addr string) string {
	i := strings.LastIndex(addr, ":")
	host, port := addr[:max(i, 0)], addr[i+1:]
	switch host {
	case "", "0.0.0.0", "[::]", "::":
		host = "127.0.0.1"
	}
	return host + ":" + port
}
