// Package dtmserver starts the dtm server of the github.com/dtm-labs/dtm
// module in this process. It is the only package that links the server: the
// services speak to dtm through dtmclient and name the default server from
// dtmconf, without carrying the server.
package dtmserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dtm-labs/dtm/client/dtmcli/dtmimp"
	"github.com/dtm-labs/dtm/dtmsvr"
	"github.com/dtm-labs/dtm/dtmsvr/config"
	"github.com/dtm-labs/dtm/dtmsvr/storage/registry"
	"github.com/dtm-labs/logger"
	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/gin-gonic/gin"
)

// Start runs a dtm server in this process with the configuration s, writing
// its config file into dir. The dtm server keeps its configuration in package
// globals, so Start may be called once per process. It returns the server's
// gin engine (already listening) so that callers can add routes to it, such
// as the dashboard's files. Beside dtm's API it serves the store's epoch
// (dtmclient.StoreEpochRoute), which the services watch to notice a store
// that lost writes.
//
// The boltdb store opens ./dtm.bolt in the working directory: callers of the
// boltdb driver change into their data directory first.
func Start(s dtmconf.Server, dir string) (*gin.Engine, error) {
	file := filepath.Join(dir, "dtm.yml")
	if err := os.WriteFile(file, s.YAML(), 0o644); err != nil {
		return nil, fmt.Errorf("write dtm config: %w", err)
	}
	// Quiet dtm's logger before the config load, which dumps the whole
	// configuration at info level.
	logger.InitLog2(s.LogLevel, "stderr", 0, "{}")
	config.MustLoadConfig(file)
	conf := &config.Config
	logger.InitLog2(conf.LogLevel, conf.Log.Outputs, conf.Log.RotationEnable, conf.Log.RotationConfigJSON)
	registry.WaitStoreUp()
	PoolServerClients()
	dtmsvr.Version = dtmconf.DTMVersion() // what /api/dtmsvr/version (and the dashboard) shows, as the released binary's -ldflags set it
	if everyInterface(s.HTTPHost) {
		app := dtmsvr.StartSvr()
		serveStoreEpoch(app, s.Store)
		startCron()
		return app, nil
	}
	// dtmsvr.StartSvr binds ":<port>", every interface, by itself. Holding
	// host:port first makes that bind fail (Linux refuses a wildcard bind
	// of a port a specific address listens on), which dtm only logs; the
	// engine it returns, with all its routes, is then served here on the
	// held listener. dtm's logger is quieted meanwhile: the failed bind is
	// the expected path, not an error for the operator.
	addr := net.JoinHostPort(s.HTTPHost, strconv.Itoa(s.HTTPPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dtm http listener: %w", err)
	}
	logger.InitLog2("fatal", conf.Log.Outputs, conf.Log.RotationEnable, conf.Log.RotationConfigJSON)
	app := dtmsvr.StartSvr() // it sleeps 100 ms after starting its bind's goroutine
	logger.InitLog2(conf.LogLevel, conf.Log.Outputs, conf.Log.RotationEnable, conf.Log.RotationConfigJSON)
	serveStoreEpoch(app, s.Store)
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Errorf("dtm http listener %s: %v", addr, err)
		}
	}()
	startCron()
	return app, nil
}

// CronWorkers is how many transactions the server's cron settles at once.
// dtm's own main runs one: each transaction it takes waits for its branch
// call and for several writes to the store, fsynced one by one on a
// durable store, so after an outage or a store that went back to an older
// state (hundreds of messages due at once) one worker drained about ten a
// second under disk load. The store hands each due transaction to one
// worker only (it locks it by moving its next cron time), as it does for
// several dtm processes on one store.
const CronWorkers = 8

// startCron starts the cron workers.
func startCron() {
	for range CronWorkers {
		go dtmsvr.CronExpiredTrans(-1)
	}
}

// everyInterface reports whether host names every interface ("" too).
func everyInterface(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// PoolServerClients gives the dtm server's outgoing HTTP clients (one resty
// client per request timeout) a pooled transport, so that calls to branches
// and back-checks reuse connections under load.
func PoolServerClients() {
	tr := dtmclient.PooledTransport()
	for sec := 0; sec <= 2*dtmclient.RequestTimeout; sec++ {
		dtmimp.GetRestyClient2(time.Duration(sec) * time.Second).SetTransport(tr)
	}
}
