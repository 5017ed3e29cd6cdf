// Package httpapi is the flashsale service's HTTP surface (docs/api.md): the
// shopper API, the admin API on its own listener, and the internal listener
// the dtm server calls for back-checks.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/tracing"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/gin-gonic/gin"
)

// Purchaser runs purchases (package purchase).
type Purchaser interface {
	// Buy counts user's buy in windows and runs the purchase in a; it
	// returns its gid, or a *flashsale.OverLimit when a window is over.
	Buy(ctx context.Context, a flashsale.Activity, user string, windows []flashsale.RateWindow) (string, error)
	// QueryPrepared is the back-check of the purchase message gid.
	QueryPrepared(ctx context.Context, gid string) error
	// Pending reports whether user's purchase in activity took a unit.
	Pending(ctx context.Context, activityID int64, user string) (bool, error)
}

// Deps are what the handlers use.
type Deps struct {
	Catalog    flashsale.Catalog
	Orders     flashsale.OrderReader
	Stock      flashsale.Stock
	Purchases  Purchaser
	Payments   Payer
	Returns    UnitReturner
	Adjust     Adjuster
	Tokens     TokenVerifier
	AdminToken string
	Gates      *gate.Set
	Metrics    *metrics.Metrics
	DTM        dtmclient.Groups // the dtm groups' API bases: their dashboards and APIs, for the sale view
	// Repairs, when set, tells the sale view this instance's repairs.
	Repairs Repairs
	// Reconcile checks the promises of an activity (package reconcile).
	Reconcile func(ctx context.Context, activityID int64) (reconcile.Report, error)
	Now       func() time.Time
	Log       *slog.Logger
}

// TokenVerifier turns a shopper's bearer token into a user id.
type TokenVerifier interface {
	UserID(token string) (string, error)
}

func init() { gin.SetMode(gin.ReleaseMode) }

func newEngine(log *slog.Logger) *gin.Engine {
	e := gin.New()
	e.Use(tracing.Gin("flashsale")) // a span per request, in the caller's trace
	e.Use(gin.CustomRecovery(func(c *gin.Context, v any) {
		log.Error("panic in handler", "path", c.Request.URL.Path, "panic", v)
		c.AbortWithStatusJSON(contract.Fail(contract.EInternal, "internal error"))
	}))
	e.NoRoute(func(c *gin.Context) {
		c.JSON(contract.Fail(contract.ENotFound, "no such endpoint"))
	})
	e.NoMethod(func(c *gin.Context) {
		c.JSON(contract.Fail(contract.EBadRequest, "method not allowed"))
	})
	e.HandleMethodNotAllowed = true
	return e
}

// NewShopper returns the shopper API handler.
func NewShopper(d Deps) http.Handler {
	e := newEngine(d.Log)
	shopperRoutes(e, d)
	return e
}

// NewAdmin returns the admin API handler.
func NewAdmin(d Deps) http.Handler {
	e := newEngine(d.Log)
	adminRoutes(e, d)
	return e
}

// NewInternal returns the handler of the internal listener (dtm's calls).
func NewInternal(d Deps) http.Handler {
	e := newEngine(d.Log)
	internalRoutes(e, d)
	return e
}
