package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

func handleBlacklistGet(bl *gate.Blacklist, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		e, err := bl.List(c)
		if err != nil {
			writeError(c, log, unavailable(err))
			return
		}
		c.JSON(http.StatusOK, e)
	}
}

// handleBlacklistChange adds (add) or removes the users and IPs of the body
// {"users":[...],"ips":[...]}; every instance applies it within a second.
func handleBlacklistChange(bl *gate.Blacklist, add bool, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		var e gate.Entries
		if err := decodeBody(c, &e, false); err != nil {
			writeError(c, log, err)
			return
		}
		if len(e.Users)+len(e.IPs) == 0 || len(e.Users)+len(e.IPs) > 10000 {
			writeError(c, log, contract.Errorf(contract.EBadRequest, "give 1-10000 users and ips"))
			return
		}
		for _, u := range e.Users {
			if !contract.ValidUserID(u) {
				writeError(c, log, contract.Errorf(contract.EBadRequest, "%q is not a user id", u))
				return
			}
		}
		for i, ip := range e.IPs {
			entry, ok := gate.ParseEntry(ip)
			if !ok {
				writeError(c, log, contract.Errorf(contract.EBadRequest, "%q is not an IP address nor a CIDR range", ip))
				return
			}
			e.IPs[i] = entry
		}
		change := bl.Remove
		if add {
			change = bl.Add
		}
		if err := change(c, e); err != nil {
			writeError(c, log, unavailable(err))
			return
		}
		cur, err := bl.List(c)
		if err != nil {
			writeError(c, log, unavailable(err))
			return
		}
		c.JSON(http.StatusOK, cur)
	}
}
