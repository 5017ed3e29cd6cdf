package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
)

// checkCancels counts the activity's cancellation messages into r and
// checks the cancellations, the part of I2 that says a cancelled order's
// unit is back in Redis exactly once: every cancelled order has a
// cancellation message that commits, and once it has succeeded the
// branch's Redis barrier is set; no unit is returned for a live order.
// cancels are the listed cancellation messages, returned the cancellation
// gids whose Redis barrier is set.
func checkCancels(ctx context.Context, src Sources, r *Report, orders []order, cancels map[string]string, returned map[string]bool) error {
	cancelled := map[string]order{} // by cancellation gid
	for _, o := range orders {
		if o.status == "cancelled" {
			cancelled[contract.CancelGID(r.ActivityID, o.user)] = o
		}
	}
	// As for purchases, dtm's listing can skip transactions.
	for gid := range cancelled {
		if _, ok := cancels[gid]; !ok {
			st, err := messageStatus(ctx, src, gid)
			if err != nil {
				return err
			}
			cancels[gid] = st
		}
	}
	for gid, st := range cancels {
		r.Cancels[st]++
		if st == dtmcli.StatusPrepared || st == dtmcli.StatusSubmitted {
			r.Pending = append(r.Pending, gid)
		}
	}
	sort.Strings(r.Pending)

	var noMsg, notReturned, live, stray []string
	var noMsgIDs, notReturnedIDs []int64
	for gid, o := range cancelled {
		switch cancels[gid] {
		case dtmcli.StatusPrepared, dtmcli.StatusSubmitted:
		case dtmcli.StatusSucceed:
			if !returned[gid] {
				notReturned = append(notReturned, gid)
				notReturnedIDs = append(notReturnedIDs, o.id)
			}
		default:
			noMsg = append(noMsg, gid)
			noMsgIDs = append(noMsgIDs, o.id)
		}
	}
	for gid := range returned {
		if _, ok := cancelled[gid]; !ok {
			live = append(live, gid)
		}
	}
	for gid, st := range cancels {
		if _, ok := cancelled[gid]; !ok && st == dtmcli.StatusSucceed {
			stray = append(stray, gid)
		}
	}
	sort.Strings(noMsg)
	sort.Strings(notReturned)
	sort.Strings(live)
	sort.Strings(stray)
	add := func(v Violation) { r.Violations = append(r.Violations, v) }
	if len(noMsg) > 0 {
		add(Violation{Invariant: "I2", Message: fmt.Sprintf("%d cancelled orders without a cancellation message that commits: their units may never return to Redis", len(noMsg)), GIDs: noMsg, OrderIDs: noMsgIDs})
	}
	if len(notReturned) > 0 {
		add(Violation{Invariant: "I2", Message: fmt.Sprintf("%d cancelled orders whose units were never returned to Redis", len(notReturned)), GIDs: notReturned, OrderIDs: notReturnedIDs})
	}
	if len(live) > 0 {
		add(Violation{Invariant: "I2", Message: fmt.Sprintf("%d units returned to Redis for orders that are not cancelled", len(live)), GIDs: live})
	}
	if len(stray) > 0 {
		add(Violation{Invariant: "I2", Message: fmt.Sprintf("%d cancellations succeeded for orders that are not cancelled", len(stray)), GIDs: stray})
	}
	return nil
}
