package httpapi

import (
	"errors"
	"log/slog"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// logGID is the gin context key of the gid of the purchase a request is
// about, added to the request's log lines.
const logGID = "gid"

// writeError answers err as {"error","message"} with its code's status.
// Errors outside the contract are logged and answered as 500 internal,
// without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	code := contract.ErrorCode(err)
	var fe *contract.Error
	if !errors.As(err, &fe) || code == contract.EUnavailable {
		if gid := c.GetString(logGID); gid != "" {
			log = log.With("gid", gid)
		}
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	c.AbortWithStatusJSON(contract.Answer(err))
}
