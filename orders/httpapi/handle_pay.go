package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// handlePay pays an order of the shopper in the body: 200 with the order
// (paid), 404 not_found (no such order of this shopper), 409 not_payable,
// 503 unavailable (the payment provider failed; the order is still unpaid).
func handlePay(p Payer, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(c, log, contract.Errorf(contract.ENotFound, "no such order"))
			return
		}
		var req contract.PayRequest
		if err := c.ShouldBindJSON(&req); err != nil || !contract.ValidUserID(req.UserID) {
			writeError(c, log, contract.Errorf(contract.EBadRequest, "the body must name a valid user_id"))
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
