package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/orders"
	"github.com/gin-gonic/gin"
)

// handleCancelQuery is the back-check of a cancellation message. dtm reads
// the status code: 200 commits the message, 409 fails it, anything else is
// retried later; so every error but a rollback is a 5xx, and no error body
// contains the words dtm looks for.
func handleCancelQuery(cc CancelChecker, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		gid := dtmimp.EscapeGet(c.Request.URL.Query(), "gid")
		err := cc.QueryPrepared(c, gid)
		switch {
		case err == nil:
			c.JSON(http.StatusOK, contract.DTMSuccess)
		case errors.Is(err, orders.ErrCancelRolledBack):
			c.JSON(http.StatusConflict, contract.DTMFailure)
		case contract.ErrorCode(err) == contract.EBadRequest:
			c.JSON(contract.Fail(contract.EBadRequest, "not a cancellation gid"))
		default:
			log.Error("cancellation back-check failed", "gid", gid, "err", err)
			c.JSON(contract.Fail(contract.EUnavailable, "the back-check cannot read the barrier"))
		}
	}
}
