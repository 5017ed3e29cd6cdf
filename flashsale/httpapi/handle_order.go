package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// handleOrder answers the shopper's order in an activity: the order when it
// exists, "pending" while its purchase message is on the way, else "none".
func handleOrder(tokens TokenVerifier, cat flashsale.Catalog, orders flashsale.OrderReader, buyer Purchaser, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, a, err := shopperActivity(c, tokens, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id := a.ID
		o, err := orders.OrderOf(c, id, user)
		if err == nil {
			c.JSON(http.StatusOK, gin.H{"status": o.Status, "order": o})
			return
		}
		if contract.ErrorCode(err) != contract.ENotFound {
			writeError(c, log, err)
			return
		}
		pending, err := buyer.Pending(c, id, user)
		if err != nil {
			writeError(c, log, contract.Errorf(contract.EUnavailable, "cannot read the purchase: %v", err))
			return
		}
		status := "none"
		if pending {
			status = "pending"
		}
		c.JSON(http.StatusOK, gin.H{"status": status})
	}
}
