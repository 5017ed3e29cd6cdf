package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// Payer pays orders (package ordersapi: the order service does it).
type Payer interface {
	// Pay pays user's order orderID and returns it, paid. Errors:
	// ENotFound (no such order of this user), ENotPayable, EUnavailable.
	Pay(ctx context.Context, orderID int64, user string) (contract.Order, error)
}

// handlePay pays one of the shopper's orders: 200 with the order (paid;
// paying a paid order again answers the same, without charging), 404
// (none of theirs), 409 not_payable (cancelled: its time to pay ended), 503
// (the payment provider failed or did not answer: still unpaid). A body is
// ignored.
func handlePay(tokens TokenVerifier, payer Payer, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, err := shopper(c, tokens)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id, err := pathID(c, "order_id")
		if err != nil {
			writeError(c, log, err)
			return
		}
		o, err := payer.Pay(c, id, user)
		if err != nil {
			writeError(c, log, err)
			return
		}
		c.JSON(http.StatusOK, o)
	}
}
