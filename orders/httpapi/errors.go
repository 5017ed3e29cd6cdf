package httpapi

import (
	"errors"
	"log/slog"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// writeError answers err as {"error","message"} with its code's status.
// Errors outside the contract's codes are logged and answered as 500
// internal, without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	var ce *contract.Error
	if !errors.As(err, &ce) {
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	c.AbortWithStatusJSON(contract.Answer(err))
}
