package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// handleQueryPrepared is the back-check the dtm server calls for a purchase
// message still prepared after its TimeoutToFail.
func handleQueryPrepared(buyer Purchaser, log *slog.Logger) gin.HandlerFunc {
	return backCheck(buyer.QueryPrepared, "not a purchase gid", log)
}

// backCheck answers a message's back-check with query(gid). dtm reads the
// status code: 200 commits the message, 409 fails it, anything else is
// retried later. So every error other than a closed barrier must be a 5xx,
// never a 200, and no body may contain the words dtm looks for.
func backCheck(query func(context.Context, string) error, badGID string, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		gid := c.Query("gid")
		err := query(c, gid)
		switch {
		case err == nil:
			c.JSON(http.StatusOK, contract.DTMSuccess)
		case errors.Is(err, flashsale.ErrRolledBack):
			c.JSON(http.StatusConflict, contract.DTMFailure)
		case contract.ErrorCode(err) == contract.EBadRequest:
			c.JSON(contract.Fail(contract.EBadRequest, badGID))
		default:
			log.Error("back-check failed", "gid", gid, "err", err)
			c.JSON(contract.Fail(contract.EUnavailable, "the back-check cannot read the barrier"))
		}
	}
}
