package main

import (
	"context"
	"flag"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/serve"
	"github.com/gin-gonic/gin"
)

// runBare serves the bare gin handler: the same framework, router and JSON
// rendering as the shopper API, and no work. The sold-out path's figure is
// read against it.
func runBare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.POST("/api/v1/activities/:id/buy", func(c *gin.Context) {
		c.JSON(http.StatusConflict, gin.H{"error": "sold_out", "message": "sold out"})
	})
	return serve.Run(ctx, time.Second, nil, serve.Listener{Name: "bare", Addr: *addr, Handler: e})
}
