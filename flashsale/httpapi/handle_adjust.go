package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// Adjuster runs admins' changes of an activity's units (package adjust).
type Adjuster interface {
	Adjust(ctx context.Context, adj contract.Adjustment) (gid, status string, err error)
	QueryPrepared(ctx context.Context, gid string) error
	Branch(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.AdjustRequest) error
}

// handleCancelActivity ends the activity now. Its Redis stock is closed
// first, so that once this answers no purchase takes a unit on any
// instance; purchases that took a unit before still become orders, and
// orders stay payable (or are cancelled unpaid, their unit returned).
// Cancelling an activity that is over changes nothing.
func handleCancelActivity(cat flashsale.Catalog, stock flashsale.Stock, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		if err := stock.Close(c, a.ID); err != nil {
			writeError(c, log, contract.Errorf(contract.EUnavailable, "redis: %v", err))
			return
		}
		a, err = cat.CancelActivity(c, a.ID, now())
		if err != nil {
			writeError(c, log, err)
			return
		}
		log.Info("activity cancelled", "activity", a.ID, "end_at", a.EndAt)
		c.JSON(http.StatusOK, toActivityJSON(a, now(), false))
	}
}

// handleAdjustStock adds units to an activity (delta > 0) or removes unsold
// ones (delta < 0). 200 once every store has the change, 202 while the dtm
// server is still completing it.
func handleAdjustStock(cat flashsale.Catalog, adj Adjuster, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		var req api.StockChange
		if err := decodeBody(c, &req, false); err != nil {
			writeError(c, log, err)
			return
		}
		want := contract.Adjustment{ActivityID: a.ID, Delta: req.Delta, RequestID: req.RequestID}
		if err := want.Validate(); err != nil {
			writeError(c, log, err)
			return
		}
		gid, status, err := adj.Adjust(c, want)
		forget(c, cat, a.ID)
		if err != nil {
			writeError(c, log, err)
			return
		}
		log.Info("stock adjusted", "activity", a.ID, "delta", req.Delta, "gid", gid, "status", status)
		code := http.StatusOK
		if status != "succeed" {
			code = http.StatusAccepted
		}
		c.JSON(code, gin.H{"gid": gid, "activity_id": a.ID, "delta": req.Delta, "status": status})
	}
}

// handleAdjustments lists the adjustments applied to the activity's total,
// oldest first: the sale's audit trail of stock changes.
func handleAdjustments(cat flashsale.Catalog, orders flashsale.OrderReader, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		list, err := orders.Adjustments(c, a.ID)
		if err != nil {
			writeError(c, log, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"activity_id": a.ID, "adjustments": list})
	}
}

// forget drops the cached copies of activity id when cat caches.
func forget(ctx context.Context, cat flashsale.Catalog, id int64) {
	if f, ok := cat.(interface {
		Forget(context.Context, int64)
	}); ok {
		f.Forget(ctx, id)
	}
}

// handleAdjustQuery is the back-check of an adjustment message; dtm reads
// the status code as for a purchase's (handleQueryPrepared).
func handleAdjustQuery(adj Adjuster, log *slog.Logger) gin.HandlerFunc {
	return backCheck(adj.QueryPrepared, "not an adjustment gid", log)
}

// handleAdjustBranch is the branch of an adjustment message. As a
// cancellation's branch (handleReturn), it never answers 409: a message's
// branch must eventually succeed, and dtm retries anything but 200.
// Once applied, the activity's cached copies are dropped: its total changed.
func handleAdjustBranch(cat flashsale.Catalog, adj Adjuster, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		bb, err := dtmcli.BarrierFromQuery(c.Request.URL.Query())
		if err != nil || bb.TransType != "msg" || bb.Op != dtmimp.OpAction {
			c.JSON(contract.Fail(contract.EBadRequest, "not an adjustment's branch"))
			return
		}
		var req contract.AdjustRequest
		if err := decodeBody(c, &req, false); err != nil {
			writeError(c, log, err)
			return
		}
		err = adj.Branch(c, bb, req)
		switch {
		case err == nil:
			forget(c, cat, req.ActivityID)
			c.JSON(http.StatusOK, contract.DTMSuccess)
		case contract.ErrorCode(err) == contract.EBadRequest:
			c.JSON(contract.Fail(contract.EBadRequest, contract.ErrorMessage(err)))
		default:
			log.Error("adjustment branch", "gid", bb.Gid, "err", err)
			c.JSON(contract.Fail(contract.EUnavailable, "not applied; dtm will retry"))
		}
	}
}
