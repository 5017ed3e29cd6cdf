package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// health adds /healthz (the process answers), /readyz (its stores answer)
// and /metrics.
func health(e *gin.Engine, d Deps) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		// A store down is answered without a log line: probes come every
		// second (dtmconf.HurryWhenReady, load balancers), and the pollers
		// that meet the outage log it already.
		if err := d.Stock.Ping(ctx); err != nil {
			notReady(c, "redis", err)
			return
		}
		if err := d.Catalog.Ping(ctx); err != nil {
			notReady(c, "mysql", err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}

func notReady(c *gin.Context, store string, err error) {
	c.AbortWithStatusJSON(contract.Fail(contract.EUnavailable, store+": "+err.Error()))
}
