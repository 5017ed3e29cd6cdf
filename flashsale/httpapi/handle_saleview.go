package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/gin-gonic/gin"
)

// The admin endpoints below feed the sale view (package webui) beside the
// stats and reconcile endpoints of docs/api.md; GET /admin/v1/activities is the
// shoppers' list (handleActivities).

// Repairs tells the repairs of what a store forgot that this instance
// makes (repair.Repairer).
type Repairs interface {
	// InProgress returns the gids being repaired now.
	InProgress() []string
	// Made returns the repairs made since the start, by kind.
	Made() map[string]int
}

// handleLive answers this instance's tally of the activity's buys: answers
// by outcome, rejections by gate, and buys per second over the last
// minute; and its repairs (all activities').
// Each flashsale instance answers for itself.
func handleLive(cat flashsale.Catalog, sales *metrics.Sales, repairs Repairs, dtm dtmclient.Groups, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id := a.ID
		dashboards := make([]string, max(len(dtm), 1))
		for i, g := range dtm {
			dashboards[i] = strings.TrimSuffix(g, "/api/dtmsvr") + "/"
		}
		rep := gin.H{"in_progress": []string{}, "made": map[string]int{}}
		if repairs != nil {
			rep["in_progress"], rep["made"] = repairs.InProgress(), repairs.Made()
		}
		c.JSON(http.StatusOK, gin.H{"server_time": now().UTC(), "instance": sales.Snapshot(id), "repairs": rep,
			"dtm_dashboard": dashboards[0], "dtm_dashboards": dashboards})
	}
}

// handlePurchase looks up one purchase, by ?gid= or by ?activity= and
// ?user=: its order, its message's status on the dtm server, and the
// address of its page in the dtm dashboard.
func handlePurchase(cat flashsale.Catalog, orders flashsale.OrderReader, dtm dtmclient.Groups, log *slog.Logger) gin.HandlerFunc {
	hc := &http.Client{Timeout: 3 * time.Second}
	return func(c *gin.Context) {
		gid := c.Query("gid")
		if gid == "" {
			gid = "flash-sale-" + c.Query("activity") + "-" + c.Query("user")
		}
		act, user, err := contract.ParsePurchaseGID(gid)
		if err != nil {
			writeError(c, log, contract.Errorf(contract.EBadRequest, "give ?gid=flash-sale-<activity>-<user>, or ?activity= and ?user="))
			return
		}
		if _, err := cat.Activity(c, act); err != nil {
			writeError(c, log, err)
			return
		}
		out := gin.H{"gid": gid, "activity_id": act, "user_id": user, "order": nil,
			"dtm_url": dtm.Admin(gid) + "/admin/global-transactions/detail/" + url.PathEscape(gid)}
		switch o, err := orders.OrderOf(c, act, user); {
		case err == nil:
			out["order"] = o
		case contract.ErrorCode(err) != contract.ENotFound:
			writeError(c, log, err)
			return
		}
		out["dtm_status"] = dtmclient.Describe(dtmclient.MessageStatus(c, hc, dtm, gid))
		c.JSON(http.StatusOK, out)
	}
}
