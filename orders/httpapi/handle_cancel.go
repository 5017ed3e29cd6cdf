package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/dtm-labs/client/dtmcli/dtmimp"
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
			c.JSON(http.StatusOK, gin.H{"dtm_result": "SUCCESS"})
		case errors.Is(err, orders.ErrCancelRolledBack):
			c.JSON(http.StatusConflict, gin.H{"dtm_result": "FAILURE"})
		case orders.ErrorCode(err) == orders.EBadRequest:
			c.JSON(http.StatusBadRequest, gin.H{"error": orders.EBadRequest, "message": "not a cancellation gid"})
		default:
			log.Error("cancellation back-check failed", "gid", gid, "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": orders.EUnavailable, "message": "the back-check cannot read the barrier"})
		}
	}
}
