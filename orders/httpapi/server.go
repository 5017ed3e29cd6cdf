// Package httpapi is the order service's HTTP surface, internal only: the
// purchase message's branch and the cancellation's back-check (called by
// the dtm server), and payment (called by flashsale, which authenticates
// the shopper).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/orders"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Payer pays orders (package payment).
type Payer interface {
	// Pay pays user's order id and returns it; errors are orders.Errors.
	Pay(ctx context.Context, id int64, user string) (orders.Order, error)
}

// CancelChecker answers the back-check of a cancellation message (package
// expiry): nil commits it, orders.ErrCancelRolledBack fails it.
type CancelChecker interface {
	QueryPrepared(ctx context.Context, gid string) error
}

// Deps are what the handlers use.
type Deps struct {
	Store    orders.Store
	Payments Payer
	Cancels  CancelChecker
	Log      *slog.Logger
}

// New returns the order service's handler.
func New(d Deps) http.Handler {
	e := gin.New()
	e.Use(gin.Recovery())
	routes(e, d)
	return e
}

func routes(e *gin.Engine, d Deps) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		if err := d.Store.Ping(ctx); err != nil {
			c.JSON(contract.Fail(contract.EUnavailable, "mysql unreachable"))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	e.POST(contract.RouteCreateOrder, handleCreate(d.Store, d.Log))
	e.POST(contract.RoutePay, handlePay(d.Payments, d.Log))
	e.GET(contract.RouteCancelQuery, handleCancelQuery(d.Cancels, d.Log))
	e.POST(contract.RouteFence, handleFence(d.Store, d.Log))
}

// handleFence closes a purchase message's branch for good (Store.Fence):
// flashsale calls it before it returns the unit of a purchase whose
// message dtm failed after the unit was taken.
func handleFence(store orders.Store, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req contract.FenceRequest
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(contract.Fail(contract.EBadRequest, "bad body"))
			return
		}
		if _, _, err := contract.ParsePurchaseGID(req.GID); err != nil {
			c.JSON(contract.Fail(contract.EBadRequest, "gid is not a purchase"))
			return
		}
		ctx, cancel := context.WithTimeout(c, 10*time.Second)
		defer cancel()
		ordered, err := store.Fence(ctx, req.GID)
		if err != nil {
			log.Error("fence a purchase branch", "gid", req.GID, "err", err)
			c.JSON(contract.Fail(contract.EUnavailable, "the branch was not fenced"))
			return
		}
		log.Warn("fenced a purchase branch", "gid", req.GID, "ordered", ordered)
		c.JSON(http.StatusOK, contract.FenceAnswer{Ordered: ordered})
	}
}

// handleCreate is the purchase message's branch. dtm reads the status code:
// 200 succeeds; anything else but 409/425 is retried. A message branch must
// eventually succeed, so this never answers 409, and no body may contain
// the words dtm looks for in bodies.
func handleCreate(store orders.Store, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		bb, err := dtmcli.BarrierFromQuery(c.Request.URL.Query())
		if err != nil || bb.TransType != "msg" || bb.Op != dtmimp.OpAction {
			c.JSON(contract.Fail(contract.EBadRequest, "not a dtm message branch"))
			return
		}
		var req contract.OrderRequest
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(contract.Fail(contract.EBadRequest, "bad body"))
			return
		}
		act, user, err := contract.ParsePurchaseGID(bb.Gid)
		if err != nil || act != req.ActivityID || user != req.UserID || req.ProductID <= 0 || req.Price <= 0 {
			c.JSON(contract.Fail(contract.EBadRequest, "the body does not match the gid"))
			return
		}
		ctx, cancel := context.WithTimeout(c, 10*time.Second)
		defer cancel()
		if err := store.Create(ctx, bb, req); err != nil {
			log.Error("create order", "gid", bb.Gid, "err", err)
			c.JSON(contract.Fail(contract.EInternal, "the order was not created; dtm will retry"))
			return
		}
		c.JSON(http.StatusOK, contract.DTMSuccess)
	}
}
