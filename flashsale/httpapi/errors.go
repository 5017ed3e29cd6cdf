package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// logGID is the gin context key of the gid of the purchase a request is
// about, added to the request's log lines.
const logGID = "gid"

// soldOutBody is the sold-out answer's body, rendered once: it is nearly
// every answer of a burst.
var soldOutBody = func() []byte {
	_, body := contract.Answer(flashsale.ErrStockShort)
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return b
}()

// writeError answers err as {"error","message"} with its code's status.
// Errors outside the contract are logged and answered as 500 internal,
// without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	if err == flashsale.ErrStockShort {
		c.Data(contract.Status(contract.ESoldOut), "application/json; charset=utf-8", soldOutBody)
		c.Abort()
		return
	}
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
