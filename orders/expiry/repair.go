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

// RepairFullEvery: a repair run only because the fallback period elapsed
// (why dtmclient.Fallback) reads dtm's whole listing at most this often.
const RepairFullEvery = time.Hour

// Repair re-submits the cancellation of every order cancelled in the last
// RepairWindow whose message dtm does not know: its local step committed
// (the order is cancelled, its barrier row written in the same
// transaction), so the message commits, and its branch returns the unit to
// Redis once behind its Redis barrier. dtm accepts the Submit of a gid it
// does not know; a gid it knows is left to it. A cancellation dtm failed
// although its local step committed is logged (its Redis branch never
// runs: the unit stays out of the stock, reconcile reports it). It returns
// how many it re-submitted; repaired, when set, is called once for each.
//
// A full repair reads dtm's listing of every group (dtm reads its whole
// store to answer). One run only because the fallback period elapsed (why
// dtmclient.Fallback) within RepairFullEvery of the last full one is
// light: it skips the cancellations dtm said succeeded since that full
// repair (only a store that went back, which changes its epoch and so
// calls for a full repair, can forget them) and asks about the rest one by
// one, however many: a listing makes dtm read its whole store (a SCAN and
// an MGET of every message, which held purchases for seconds in the
// benchmark, docs/benchmarks.md), a lookup one message.
func (c *Canceller) Repair(ctx context.Context, why string, repaired func()) (int, error) {
	c.repairMu.Lock() // one repair at a time: they share what was settled
	defer c.repairMu.Unlock()
	start := c.now()
	full := c.settled == nil || dtmclient.FullPass(why, c.lastFull, RepairFullEvery, start)
	if full {
		c.settled = nil
	}
	cancelled, err := c.store.Cancelled(ctx, start.Add(-RepairWindow), 100000)
	if err != nil || len(cancelled) == 0 {
		if err == nil && full {
			c.settled, c.lastFull = map[string]bool{}, start
		}
		return 0, err
	}
	groups := dtmclient.ParseGroups(c.cfg.DTMServer)
	open := cancelled[:0:0]
	prefixes := map[string]bool{}
	for _, o := range cancelled {
		if !c.settled[contract.CancelGID(o.ActivityID, o.UserID)] {
			open = append(open, o)
			prefixes[contract.CancelGIDPrefix(o.ActivityID)] = true
		}
	}
	var st map[string]string
	if full {
		list := make([]string, 0, len(prefixes))
		for p := range prefixes {
			list = append(list, p)
		}
		if st, err = dtmclient.ListMessages(ctx, nil, groups, list...); err != nil {
			return 0, err
		}
	}
	settled := map[string]bool{}
	for _, o := range cancelled { // what is no longer in the window is dropped
		if gid := contract.CancelGID(o.ActivityID, o.UserID); c.settled[gid] {
			settled[gid] = true
		}
	}
	defer func() {
		c.settled = settled
		if full {
			c.lastFull = start
		}
	}()
	n := 0
	var errs []error
	for _, o := range open {
		gid := contract.CancelGID(o.ActivityID, o.UserID)
		status, ok := st[gid]
		if !ok { // the listing can skip transactions
			if status, err = dtmclient.MessageStatus(ctx, nil, groups, gid); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		switch status {
		case dtmcli.StatusSucceed:
			settled[gid] = true
			continue
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
