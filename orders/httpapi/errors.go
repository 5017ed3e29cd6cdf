package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/orders"
	"github.com/gin-gonic/gin"
)

// statusOf maps each error code of the order service to its HTTP status.
var statusOf = map[string]int{
	orders.EBadRequest:  http.StatusBadRequest,
	orders.ENotFound:    http.StatusNotFound,
	orders.ENotPayable:  http.StatusConflict,
	orders.EUnavailable: http.StatusServiceUnavailable,
	orders.EInternal:    http.StatusInternalServerError,
}

// writeError answers err as {"error","message"} with its code's status.
// Errors outside the service's codes are logged and answered as 500
// internal, without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	code := orders.ErrorCode(err)
	var oe *orders.Error
	if !errors.As(err, &oe) {
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	c.AbortWithStatusJSON(statusOf[code], gin.H{"error": code, "message": orders.ErrorMessage(err)})
}
