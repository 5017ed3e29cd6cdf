package httpapi

import (
	"github.com/flashsale/flashsale/flashsale/webui"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

func shopperRoutes(e *gin.Engine, d Deps) {
	shopperHealth(e, d) // no /metrics, no store errors
	v1 := e.Group("/api/v1")
	v1.GET("/time", handleTime(d.Now))
	v1.GET("/activities", handleActivities(d.Catalog, d.Stock, d.Now, d.Log))
	v1.GET("/activities/:id", handleActivity(d.Catalog, d.Stock, d.Now, d.Log))
	v1.GET("/activities/:id/secret", handleSecret(d.Tokens, d.Catalog, d.Gates, d.Now, d.Log))
	v1.GET("/activities/:id/challenge", handleChallenge(d.Tokens, d.Catalog, d.Gates, d.Now, d.Log))
	v1.POST("/activities/:id/buy", handleBuy(d.Tokens, d.Catalog, d.Purchases, d.Gates, d.Metrics, d.Now, d.Log))
	v1.GET("/activities/:id/order", handleOrder(d.Tokens, d.Catalog, d.Orders, d.Purchases, d.Log))
	v1.POST("/orders/:order_id/pay", handlePay(d.Tokens, d.Payments, d.Log))
	webui.Shop(e) // the shopper page at /
}

func adminRoutes(e *gin.Engine, d Deps) {
	health(e, d)
	a := e.Group("/admin/v1", requireAdmin(d.AdminToken))
	a.POST("/products", handleCreateProduct(d.Catalog, d.Log))
	a.POST("/activities", handleCreateActivity(d.Catalog, d.Stock, d.Now, d.Log))
	a.GET("/activities/:id/stats", handleStats(d.Catalog, d.Stock, d.Orders, d.Log))
	a.POST("/activities/:id/cancel", handleCancelActivity(d.Catalog, d.Stock, d.Now, d.Log))
	a.POST("/activities/:id/stock", handleAdjustStock(d.Catalog, d.Adjust, d.Log))
	a.GET("/activities/:id/stock", handleAdjustments(d.Catalog, d.Orders, d.Log))
	a.GET("/reconcile", handleReconcile(d.Catalog, d.Reconcile, d.Log))
	a.GET("/blacklist", handleBlacklistGet(d.Gates.Blacklist, d.Log))
	a.POST("/blacklist", handleBlacklistChange(d.Gates.Blacklist, true, d.Log))
	a.DELETE("/blacklist", handleBlacklistChange(d.Gates.Blacklist, false, d.Log))
	a.GET("/activities", handleActivities(d.Catalog, d.Stock, d.Now, d.Log))
	a.GET("/activities/:id/live", handleLive(d.Catalog, d.Metrics.Sales, d.Repairs, d.DTM, d.Now, d.Log))
	a.GET("/purchase", handlePurchase(d.Catalog, d.Orders, d.DTM, d.Log))
	openAPI(e)
	webui.Sale(e) // the sale view at /
}

func internalRoutes(e *gin.Engine, d Deps) {
	health(e, d)
	e.GET(contract.RoutePurchaseQuery, handleQueryPrepared(d.Purchases, d.Log))
	e.POST(contract.RouteStockReturn, handleReturn(d.Returns, d.Log))
	e.GET(contract.RouteAdjustQuery, handleAdjustQuery(d.Adjust, d.Log))
	e.POST(contract.RouteAdjustBranch, handleAdjustBranch(d.Catalog, d.Adjust, d.Log))
}
