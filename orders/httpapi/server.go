// Package httpapi is the order service's HTTP surface: the purchase
// message's branch, called by the dtm server only.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/orders"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// New returns the order service's handler.
func New(store orders.Store, log *slog.Logger) http.Handler {
	e := gin.New()
	e.Use(gin.Recovery())
	routes(e, store, log)
	return e
}

func routes(e *gin.Engine, store orders.Store, log *slog.Logger) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable", "message": "mysql unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	e.POST("/internal/orders/create", handleCreate(store, log))
}

// handleCreate is the purchase message's branch. dtm reads the status code:
// 200 succeeds; anything else but 409/425 is retried. A message branch must
// eventually succeed, so this never answers 409, and no body may contain
// the words dtm looks for in bodies.
func handleCreate(store orders.Store, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		bb, err := dtmcli.BarrierFromQuery(c.Request.URL.Query())
		if err != nil || bb.TransType != "msg" || bb.Op != dtmimp.OpAction {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request", "message": "not a dtm message branch"})
			return
		}
		var req orders.CreateRequest
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request", "message": "bad body"})
			return
		}
		act, user, err := flashsale.ParseGID(bb.Gid)
		if err != nil || act != req.ActivityID || user != req.UserID || req.ProductID <= 0 || req.Price <= 0 {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request", "message": "the body does not match the gid"})
			return
		}
		ctx, cancel := context.WithTimeout(c, 10*time.Second)
		defer cancel()
		if err := store.Create(ctx, bb, req); err != nil {
			log.Error("create order", "gid", bb.Gid, "err", err)
			c.JSON(http.StatusInternalServerError, gin.H{"error": "internal", "message": "the order was not created; dtm will retry"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"dtm_result": "SUCCESS"})
	}
}
