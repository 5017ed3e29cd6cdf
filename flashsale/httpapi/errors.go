package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/gin-gonic/gin"
)

// statusOf maps each error code of the contract to its HTTP status.
var statusOf = map[string]int{
	flashsale.EBadRequest:        http.StatusBadRequest,
	flashsale.EUnauthorized:      http.StatusUnauthorized,
	flashsale.ENotFound:          http.StatusNotFound,
	flashsale.ENotStarted:        http.StatusForbidden,
	flashsale.EEnded:             http.StatusGone,
	flashsale.EBadSecret:         http.StatusForbidden,
	flashsale.EBlocked:           http.StatusForbidden,
	flashsale.ERateLimited:       http.StatusTooManyRequests,
	flashsale.ESoldOut:           http.StatusConflict,
	flashsale.EAlreadyPurchased:  http.StatusConflict,
	flashsale.ETooLarge:          http.StatusRequestEntityTooLarge,
	flashsale.EUnavailable:       http.StatusServiceUnavailable,
	flashsale.ENotPayable:        http.StatusConflict,
	flashsale.EInsufficientStock: http.StatusConflict,
	flashsale.EInternal:          http.StatusInternalServerError,
}

// logGID is the gin context key of the gid of the purchase a request is
// about, added to the request's log lines.
const logGID = "gid"

// writeError answers err as {"error","message"} with its code's status.
// Errors outside the contract are logged and answered as 500 internal,
// without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	code := flashsale.ErrorCode(err)
	var fe *flashsale.Error
	if !errors.As(err, &fe) || code == flashsale.EUnavailable {
		if gid := c.GetString(logGID); gid != "" {
			log = log.With("gid", gid)
		}
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	c.AbortWithStatusJSON(statusOf[code], gin.H{"error": code, "message": flashsale.ErrorMessage(err)})
}
