package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// UnitReturner puts a cancelled order's unit back in Redis (package
// rediscache).
type UnitReturner interface {
	// ReturnUnit adds one unit to the activity's stock unless the barrier
	// is set, and sets it; it reports whether it added the unit.
	ReturnUnit(ctx context.Context, activityID int64, barrier string) (bool, error)
}

// handleReturn is the branch of a cancellation message, called by the dtm
// server once the order service cancelled the order: the unit goes back to
// the Redis stock, exactly once however often dtm delivers the branch. dtm
// reads the status code: 200 succeeds; anything else but 409/425 is
// retried. A message branch must eventually succeed, so this never answers
// 409, and no body may contain the words dtm looks for in bodies.
func handleReturn(r UnitReturner, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		bb, err := dtmcli.BarrierFromQuery(c.Request.URL.Query())
		if err != nil || bb.TransType != "msg" || bb.Op != dtmimp.OpAction || bb.BranchID != contract.FirstBranch {
			c.JSON(contract.Fail(contract.EBadRequest, "not a cancellation's branch"))
			return
		}
		var req contract.ReturnRequest
		if err := decodeBody(c, &req, false); err != nil {
			writeError(c, log, err)
			return
		}
		act, user, err := contract.ParseCancelGID(bb.Gid)
		if err != nil || act != req.ActivityID || user != req.UserID {
			c.JSON(contract.Fail(contract.EBadRequest, "the body does not match the gid"))
			return
		}
		returned, err := r.ReturnUnit(c, act, contract.BranchBarrier(bb.Gid))
		if err != nil {
			log.Error("return a cancelled order's unit", "gid", bb.Gid, "err", err)
			c.JSON(contract.Fail(contract.EUnavailable, "the unit was not returned; dtm will retry"))
			return
		}
		if !returned {
			log.Info("unit already returned", "gid", bb.Gid)
		}
		c.JSON(http.StatusOK, contract.DTMSuccess)
	}
}
