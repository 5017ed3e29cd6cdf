package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// health adds, on the admin and internal listeners, /healthz (the process
// answers), /readyz (its stores answer; a 503 names the store and its
// error) and /metrics.
func health(e *gin.Engine, d Deps) {
	e.GET("/healthz", handleHealthz)
	e.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	e.GET("/readyz", func(c *gin.Context) {
		if store, err := ready(c.Request.Context(), d); err != nil {
			notReady(c, store+": "+err.Error())
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}

// shopperHealth adds the shopper listener's /healthz and /readyz: the same
// answers, except that a 503 says only "not ready" (which store is down,
// and why, is for the operator's listeners), and no /metrics.
func shopperHealth(e *gin.Engine, d Deps) {
	e.GET("/healthz", handleHealthz)
	e.GET("/readyz", func(c *gin.Context) {
		if _, err := ready(c.Request.Context(), d); err != nil {
			notReady(c, "not ready")
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}

func handleHealthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// ready pings the stores and returns the first that does not answer, with
// its error. A store down is answered without a log line: probes come every
// second (dtmclient.HurryWhenReady, load balancers), and the pollers that
// meet the outage log it already.
func ready(ctx context.Context, d Deps) (store string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.Stock.Ping(ctx); err != nil {
		return "redis", err
	}
	if err := d.Catalog.Ping(ctx); err != nil {
		return "mysql", err
	}
	return "", nil
}

func notReady(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(contract.Fail(contract.EUnavailable, msg))
}
