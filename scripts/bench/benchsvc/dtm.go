package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dtm-labs/dtm/dtmsvr"
	"github.com/dtm-labs/dtm/dtmsvr/config"
	"github.com/dtm-labs/dtm/dtmsvr/storage/registry"
	"github.com/dtm-labs/logger"
)

// runDTM runs a dtm server as published: dtm's defaults for everything
// but the ports and the Redis store, and none of dtmconf's changes (its
// shorter cron interval, its pooled HTTP clients). It starts the server as
// dtmserver.Start does, without the pool.
func runDTM(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dtm", flag.ContinueOnError)
	httpPort := fs.Int("http-port", 36789, "HTTP port")
	grpcPort := fs.Int("grpc-port", 36790, "gRPC port")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "Redis address of the store")
	prefix := fs.String("redis-prefix", "{a}", "key prefix of the store")
	dir := fs.String("dir", ".", "directory for the config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*redisAddr)
	if err != nil {
		return fmt.Errorf("-redis %q: %w", *redisAddr, err)
	}
	conf := fmt.Sprintf("HttpPort: %d\nGrpcPort: %d\nLogLevel: warn\nStore:\n  Driver: redis\n  Host: %s\n  Port: %s\n  RedisPrefix: %s\n",
		*httpPort, *grpcPort, host, port, strconv.Quote(*prefix))
	file := filepath.Join(*dir, "dtm-reference.yml")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return err
	}
	logger.InitLog2("warn", "stderr", 0, "{}")
	config.MustLoadConfig(file)
	c := &config.Config
	logger.InitLog2(c.LogLevel, c.Log.Outputs, c.Log.RotationEnable, c.Log.RotationConfigJSON)
	registry.WaitStoreUp()
	dtmsvr.StartSvr()
	go dtmsvr.CronExpiredTrans(-1)
	fmt.Printf("reference dtm server listening on :%d (http), store redis prefix %s\n", *httpPort, *prefix)
	<-ctx.Done()
	return nil
}
