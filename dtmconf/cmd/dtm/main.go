// Command dtm runs a dtm server built from the github.com/dtm-labs/dtm module
// with this project's settings (see package dtmconf).
//
//	dtm [-http-host 127.0.0.1] [-http-port 36789] [-grpc-port 36790] [-store redis|boltdb]
//	    [-redis 127.0.0.1:6379] [-redis-prefix {dtm}] [-dir .] [-dashboard DIR]
//	    [-write-config FILE]
//
// It serves the dtm dashboard at / on its HTTP port when the dashboard is
// built (scripts/build-dtm; -dashboard or FLASHSALE_DTM_DASHBOARD_DIR names
// another build), as a released dtm server does.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	_ "github.com/flashsale/flashsale/internal/dtmlog" // before dtm's logger reads LOG_LEVEL
	"github.com/flashsale/flashsale/internal/gctune"

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/dtmconf/dtmserver"
)

func main() {
	gctune.Default()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "dtm:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	s := dtmconf.DefaultServer()
	fs := flag.NewFlagSet("dtm", flag.ContinueOnError)
	fs.StringVar(&s.HTTPHost, "http-host", orEnv(getenv, "DTM_HTTP_HOST", s.HTTPHost), "address the HTTP API binds (DTM_HTTP_HOST): loopback by default; a private address, or 0.0.0.0 in a private container network")
	fs.IntVar(&s.HTTPPort, "http-port", s.HTTPPort, "HTTP port")
	fs.IntVar(&s.GRPCPort, "grpc-port", s.GRPCPort, "gRPC port")
	fs.StringVar(&s.Store.Driver, "store", s.Store.Driver, "store driver: redis or boltdb")
	redisAddr := fs.String("redis", orEnv(getenv, "REDIS_ADDR", "127.0.0.1:6379"), "Redis address of the redis store (several, comma-separated: a cluster)")
	fs.StringVar(&s.Store.RedisPrefix, "redis-prefix", s.Store.RedisPrefix, "key prefix of the redis store")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error")
	dir := fs.String("dir", ".", "directory for the config file (and dtm.bolt)")
	writeConfig := fs.String("write-config", "", "only write the dtm config file to this path (for dtm's own binary: dtm -c FILE) and exit")
	dashboard := fs.String("dashboard", dtmconf.DashboardDir(getenv), "directory of the built dtm dashboard (scripts/build-dtm); empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setRedis(&s.Store, *redisAddr); err != nil {
		return err
	}
	s.Store.Password = getenv("REDIS_PASSWORD")
	if *writeConfig != "" {
		return os.WriteFile(*writeConfig, s.YAML(), 0o600)
	}
	if *dashboard != "" {
		var err error
		if *dashboard, err = filepath.Abs(*dashboard); err != nil {
			return err
		}
	}
	if err := os.Chdir(*dir); err != nil {
		return err
	}
	// dtm only logs an HTTP port it cannot bind and goes on without HTTP:
	// check both addresses it will use first, so that a taken one fails
	// the start.
	for _, addr := range []string{net.JoinHostPort(s.HTTPHost, strconv.Itoa(s.HTTPPort)), fmt.Sprintf(":%d", s.GRPCPort)} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		ln.Close()
	}
	app, err := dtmserver.Start(s, ".")
	if err != nil {
		return err
	}
	fmt.Printf("dtm server listening on %s (http) and :%d (grpc, every interface), store %s\n", net.JoinHostPort(s.HTTPHost, strconv.Itoa(s.HTTPPort)), s.GRPCPort, s.Store.Driver)
	if *dashboard == "" {
		fmt.Println("dtm dashboard not built: scripts/build-dtm builds it (needs npm), then restart")
	} else if err := dtmconf.ServeDashboard(app, *dashboard); err != nil {
		return err
	} else {
		fmt.Printf("dtm dashboard at http://127.0.0.1:%d/ (from %s)\n", s.HTTPPort, *dashboard)
	}
	<-ctx.Done()
	return nil
}

// setRedis points the store at addr: one host:port, or the comma-separated
// addresses of a Redis Cluster's nodes (dtm then opens a cluster client,
// and the store's prefix, a hash tag, keeps its keys in one slot).
func setRedis(st *dtmconf.Store, addr string) error {
	if strings.Contains(addr, ",") {
		for _, a := range strings.Split(addr, ",") {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fmt.Errorf("-redis %q: %w", addr, err)
			}
		}
		st.Host = addr
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-redis %q: %w", addr, err)
	}
	st.Host = host
	if st.Port, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("-redis %q: %w", addr, err)
	}
	return nil
}

func orEnv(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
