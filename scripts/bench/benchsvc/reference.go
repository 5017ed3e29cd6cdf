package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis/v8"
	"github.com/lithammer/shortuuid/v3"
)

// runReference serves the reference path, the hot path of dtm's flash-sale
// example as published (dtm's helper/bench benchFlashSales, with a real
// branch and back-check URL as in the article):
//
//	gid := "{a}-" + shortuuid.New()
//	msg := dtmcli.NewMsg(dtm, gid).Add(branch, body)
//	msg.DoAndSubmit(queryPrepared, func(bb) { bb.RedisCheckAdjustAmount(rdb, stockKey, -1, 86400) })
//
// No gates, no per-user gid, dtmcli's HTTP clients and go-redis v8 as they
// come. This process runs nothing else, so nothing else tunes them.
func runReference(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ref", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	dtm := fs.String("dtm", "http://127.0.0.1:36789/api/dtmsvr", "dtm server API base")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "Redis address")
	redisDB := fs.Int("redis-db", 0, "Redis database of the stock and barrier keys")
	stockKey := fs.String("stock-key", "{a}--stock-1", "the stock counter's key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr, DB: *redisDB})
	defer rdb.Close()
	base := "http://" + *addr
	var branches atomic.Int64

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	// The counter the bench reads to see the reference's messages settled.
	e.GET("/stats", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"branches": branches.Load()}) })
	e.POST("/api/v1/activities/:id/buy", func(c *gin.Context) {
		gid := "{a}-" + shortuuid.New()
		msg := dtmcli.NewMsg(*dtm, gid).Add(base+"/api/busi/createOrder", gin.H{"activity_id": c.Param("id")})
		err := msg.DoAndSubmit(base+"/api/busi/queryPrepared", func(bb *dtmcli.BranchBarrier) error {
			return bb.RedisCheckAdjustAmount(rdb, *stockKey, -1, 86400)
		})
		reply(c, err)
	})
	e.POST("/api/busi/createOrder", func(c *gin.Context) {
		branches.Add(1)
		reply(c, nil)
	})
	e.GET("/api/busi/queryPrepared", func(c *gin.Context) {
		bb, err := dtmcli.BarrierFromQuery(c.Request.URL.Query())
		if err == nil {
			err = bb.RedisQueryPrepared(rdb, 86400)
		}
		reply(c, err)
	})
	return serve.Run(ctx, time.Second, nil, serve.Listener{Name: "ref", Addr: *addr, Handler: e})
}

// reply answers as dtm's examples do (dtmutil.WrapHandler): 200 SUCCESS,
// 409 FAILURE for dtm's failure (sold out), 500 otherwise.
func reply(c *gin.Context, err error) {
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"dtm_result": dtmcli.ResultSuccess})
	case errors.Is(err, dtmcli.ErrFailure):
		c.JSON(http.StatusConflict, gin.H{"dtm_result": dtmcli.ResultFailure, "message": err.Error()})
	default:
		c.JSON(http.StatusInternalServerError, gin.H{"message": err.Error()})
	}
}
