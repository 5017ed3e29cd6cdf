package expiry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/orders"
)

// RepairWindow bounds the repair's look back: orders cancelled longer ago
// than this are not checked.
const RepairWindow = 24 * time.Hour

// Repair re-submits the cancellation of every order cancelled in the last
// RepairWindow whose message dtm does not know: its local step committed
// (the order is cancelled, its barrier row written in the same
// transaction), so the message commits, and its branch returns the unit to
// Redis once behind its Redis barrier. dtm accepts the Submit of a gid it
// does not know; a gid it knows is left to it. A cancellation dtm failed
// although its local step committed is logged (its Redis branch never
// runs: the unit stays out of the stock, reconcile reports it). It returns
// how many it re-submitted; repaired, when set, is called once for each.
func (c *Canceller) Repair(ctx context.Context, repaired func()) (int, error) {
	cancelled, err := c.store.Cancelled(ctx, c.now().Add(-RepairWindow), 100000)
	if err != nil || len(cancelled) == 0 {
		return 0, err
	}
	groups := dtmclient.ParseGroups(c.cfg.DTMServer)
	prefixes := map[string]bool{}
	for _, o := range cancelled {
		prefixes[contract.CancelGIDPrefix(o.ActivityID)] = true
	}
	list := make([]string, 0, len(prefixes))
	for p := range prefixes {
		list = append(list, p)
	}
	st, err := dtmclient.ListMessages(ctx, nil, groups, list...)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, o := range cancelled {
		gid := contract.CancelGID(o.ActivityID, o.UserID)
		status, ok := st[gid]
		if !ok { // the listing can skip transactions
			if status, err = dtmclient.MessageStatus(ctx, nil, groups, gid); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		switch status {
		case dtmclient.NoMessage:
		case dtmcli.StatusFailed:
			c.log.Error("a cancellation dtm failed after its local step committed: its unit stays out of the stock", "gid", gid, "order", o.ID)
			continue
		default:
			continue
		}
		msg, _ := c.message(o)
		msg.Context = ctx
		if err := msg.Submit(); err != nil && !strings.Contains(err.Error(), dtmcli.ResultFailure) {
			errs = append(errs, err)
			continue
		}
		c.log.Warn("repaired a message a store forgot", "gid", gid, "kind", "cancellation_resubmitted")
		n++
		if repaired != nil {
			repaired()
		}
	}
	return n, errors.Join(errs...)
}

// message returns the cancellation message of o and its back-check's URL:
// all of it follows from the gid, so the repair rebuilds the very message.
func (c *Canceller) message(o orders.Order) (*dtmcli.Msg, string) {
	gid := contract.CancelGID(o.ActivityID, o.UserID)
	return dtmclient.NewMsg(dtmclient.ParseGroups(c.cfg.DTMServer).For(gid), c.cfg.Key, dtmclient.MsgSpec{
		GID: gid, BranchBase: c.cfg.FlashsaleInternalURL, BranchRoute: contract.RouteStockReturn,
		Body:      contract.ReturnRequest{ActivityID: o.ActivityID, UserID: o.UserID},
		QueryBase: c.cfg.URL, QueryRoute: contract.RouteCancelQuery,
	})
}
