package dtmserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// serveStoreEpoch adds dtmclient.StoreEpochRoute to app: the identity of the
// store's current state, which changes whenever the store may have lost
// writes it acknowledged (dtmclient.StoreEpoch).
func serveStoreEpoch(app *gin.Engine, s dtmconf.Store) {
	if s.Driver != "redis" {
		app.GET(dtmclient.StoreEpochRoute, func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"epoch": s.Driver})
		})
		return
	}
	rdb := storeClient(s)
	marker := strings.TrimSpace(s.RedisPrefix) + "_flashsale_epoch"
	app.GET(dtmclient.StoreEpochRoute, func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		epoch, err := redisEpoch(ctx, rdb, marker)
		if err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable", "message": "dtm's store does not answer"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"epoch": epoch})
	})
}

// storeClient opens a client of dtm's Redis store: one server, or the
// nodes of a cluster (Host holds their comma-separated addresses).
func storeClient(s dtmconf.Store) redis.UniversalClient {
	addrs := s.Host
	if !strings.Contains(addrs, ",") {
		addrs = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	// redisconn reads a cluster's slots every second: after a failover the
	// epoch names the new master within a second, not go-redis's 60 s.
	return redisconn.Open(redisconn.Options{Addrs: addrs, Password: s.Password})
}

// redisEpoch is the run id of the Redis process that holds the store's
// slot and a marker the store keeps: a restart or a failover changes the
// first (whatever the new process reloaded), a flush or a restore of
// older data without a restart the second (it is set anew when missing).
func redisEpoch(ctx context.Context, rdb redis.UniversalClient, marker string) (string, error) {
	node := rdb
	if c, ok := rdb.(*redis.ClusterClient); ok {
		m, err := c.MasterForKey(ctx, marker)
		if err != nil {
			return "", err
		}
		node = m
	}
	info, err := node.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	run := "none" // a server whose INFO has no run id (the embedded mode's)
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			run = v
		}
	}
	var b [8]byte
	rand.Read(b[:])
	if err := node.SetNX(ctx, marker, hex.EncodeToString(b[:]), 0).Err(); err != nil {
		return "", err
	}
	v, err := node.Get(ctx, marker).Result()
	if errors.Is(err, redis.Nil) {
		return "", errors.New("the epoch marker vanished as it was set")
	}
	if err != nil {
		return "", err
	}
	return run + "/" + v, nil
}
