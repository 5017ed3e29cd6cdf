package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/orders"
	"github.com/gin-gonic/gin"
)

// payRequest names the shopper, whom flashsale authenticated.
type payRequest struct {
	UserID string `json:"user_id"`
}

// handlePay pays an order of the shopper in the body: 200 with the order
// (paid), 404 not_found (no such order of this shopper), 409 not_payable,
// 503 unavailable (the payment provider failed; the order is still unpaid).
func handlePay(p Payer, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(c, log, orders.Errorf(orders.ENotFound, "no such order"))
			return
		}
		var req payRequest
		if err := c.ShouldBindJSON(&req); err != nil || !flashsale.ValidUserID(req.UserID) {
			writeError(c, log, orders.Errorf(orders.EBadRequest, "the body must name a valid user_id"))
			return
		}
		o, err := p.Pay(c, id, req.UserID)
		if err != nil {
			writeError(c, log, err)
			return
		}
		c.JSON(http.StatusOK, o)
	}
}
