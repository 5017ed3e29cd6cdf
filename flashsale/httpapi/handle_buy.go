package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/gin-gonic/gin"
)

// buyRequest is the buy body. Any other field (a quantity, a price, a user
// id) is ignored: the token names the user and a purchase is one unit.
type buyRequest struct {
	Secret string `json:"secret"`
}

// handleBuy runs the gates, cheapest first, then the purchase message.
func handleBuy(tokens TokenVerifier, cat flashsale.Catalog, buyer Purchaser, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, err := shopper(c, tokens)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id, err := pathID(c, "id")
		if err != nil {
			writeError(c, log, err)
			return
		}
		a, err := cat.Activity(c, id)
		if err != nil {
			writeError(c, log, err)
			return
		}
		if err := a.CheckOpen(now()); err != nil {
			writeError(c, log, err)
			return
		}
		var req buyRequest
		if err := decodeBody(c, &req, true); err != nil {
			writeError(c, log, err)
			return
		}
		gid, err := buyer.Buy(c, a, user)
		if err != nil {
			writeError(c, log, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"status": "pending", "gid": gid})
	}
}
