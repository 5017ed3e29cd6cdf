package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale"
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
		if err := d.Stock.Ping(ctx); err != nil {
			writeError(c, d.Log, flashsale.Errorf(flashsale.EUnavailable, "redis: %v", err))
			return
		}
		if err := d.Catalog.Ping(ctx); err != nil {
			writeError(c, d.Log, flashsale.Errorf(flashsale.EUnavailable, "mysql: %v", err))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}
