package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
)

// dtm's statuses of a message, short names for dtmcli's.
const (
	prepared  = dtmcli.StatusPrepared
	submitted = dtmcli.StatusSubmitted
	succeed   = dtmcli.StatusSucceed
)

// judge reports the figures of f and the promises, I1-I5, that f breaks.
func judge(f facts) Report {
	r := Report{
		ActivityID: f.activityID, Total: f.total, RedisStock: f.redisStock, DBStock: f.dbStock,
		Messages: tally(f.purchases), Cancels: tally(f.cancels), Adjustments: tally(f.adjusts),
		Pending: slices.Concat(unsettled(f.purchases), unsettled(f.cancels), unsettled(f.adjusts)),
	}
	sort.Strings(r.Pending)
	for _, o := range f.orders {
		if o.status != contract.OrderCancelled {
			r.LiveOrders++
		}
	}
	r.Violations = slices.Concat(
		stockViolations(f, r.LiveOrders),
		purchaseViolations(f),
		cancelViolations(f),
		adjustmentViolations(f),
	)
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	return r
}

// tally counts messages by status.
func tally(msgs map[string]string) map[string]int {
	n := map[string]int{}
	for _, st := range msgs {
		n[st]++
	}
	return n
}

// unsettled returns the gids of the messages still prepared or submitted.
func unsettled(msgs map[string]string) []string {
	var gids []string
	for gid, st := range msgs {
		if st == prepared || st == submitted {
			gids = append(gids, gid)
		}
	}
	return gids
}

// stockViolations checks the counts: no oversell (I1), Redis stock and
// live orders make the total (I2), one order per user (I3), and DB stock
// and live orders make the total (I5).
func stockViolations(f facts, live int) []Violation {
	var out []Violation
	if live > f.total {
		out = append(out, Violation{Invariant: "I1", Message: fmt.Sprintf("oversell: %d live orders for %d units", live, f.total)})
	}
	if int(f.redisStock)+live != f.total {
		out = append(out, Violation{Invariant: "I2", Message: fmt.Sprintf("Redis stock %d + live orders %d != total %d", f.redisStock, live, f.total)})
	}
	byUser := map[string][]int64{}
	for _, o := range f.orders {
		byUser[o.user] = append(byUser[o.user], o.id)
	}
	for _, user := range slices.Sorted(maps.Keys(byUser)) {
		if ids := byUser[user]; len(ids) > 1 {
			out = append(out, Violation{Invariant: "I3", Message: fmt.Sprintf("user %s has %d orders", user, len(ids)), Users: []string{user}, OrderIDs: ids})
		}
	}
	if f.dbStock != f.total-live {
		out = append(out, Violation{Invariant: "I5", Message: fmt.Sprintf("DB stock %d != total %d - live orders %d", f.dbStock, f.total, live)})
	}
	return out
}

// purchaseViolations checks I4: every unit taken in Redis has an order
// (unless its message is still unsettled), every succeeded purchase
// message has an order, and every order has a succeeded message.
func purchaseViolations(f facts) []Violation {
	byGID := map[string]order{}
	for _, o := range f.orders {
		byGID[o.gid] = o
	}
	var lostUnit, noOrder, noMsg []string
	for gid := range f.taken {
		if _, ok := byGID[gid]; !ok && f.purchases[gid] != prepared && f.purchases[gid] != submitted {
			lostUnit = append(lostUnit, gid)
		}
	}
	for gid, st := range f.purchases {
		if _, ok := byGID[gid]; st == succeed && !ok {
			noOrder = append(noOrder, gid)
		}
	}
	for gid := range byGID {
		if f.purchases[gid] != succeed {
			noMsg = append(noMsg, gid)
		}
	}
	return present(
		found("I4", "%d units taken in Redis without an order", lostUnit, nil),
		found("I4", "%d succeeded messages without an order", noOrder, nil),
		found("I4", "%d orders without a succeeded message", noMsg, byGID),
	)
}

// cancelViolations checks the part of I2 that says a cancelled order's
// unit is back in Redis exactly once: every cancelled order has a
// cancellation message that commits, and once it has succeeded the
// branch's Redis barrier is set; no unit is returned for a live order.
func cancelViolations(f facts) []Violation {
	cancelled := map[string]order{} // by cancellation gid
	for _, o := range f.orders {
		if o.status == contract.OrderCancelled {
			cancelled[contract.CancelGID(f.activityID, o.user)] = o
		}
	}
	var noMsg, notReturned, live, stray []string
	for gid := range cancelled {
		switch f.cancels[gid] {
		case prepared, submitted:
		case succeed:
			if !f.returned[gid] {
				notReturned = append(notReturned, gid)
			}
		default:
			noMsg = append(noMsg, gid)
		}
	}
	for gid := range f.returned {
		if _, ok := cancelled[gid]; !ok {
			live = append(live, gid)
		}
	}
	for gid, st := range f.cancels {
		if _, ok := cancelled[gid]; !ok && st == succeed {
			stray = append(stray, gid)
		}
	}
	return present(
		found("I2", "%d cancelled orders without a cancellation message that commits: their units may never return to Redis", noMsg, cancelled),
		found("I2", "%d cancelled orders whose units were never returned to Redis", notReturned, cancelled),
		found("I2", "%d units returned to Redis for orders that are not cancelled", live, nil),
		found("I2", "%d cancellations succeeded for orders that are not cancelled", stray, nil),
	)
}

// adjustmentViolations checks that each stock adjustment moved every
// store exactly once: one whose message succeeded is recorded in
// stock_adjustments (its SQL side ran, in the transaction that changed
// the totals) and has its Redis barrier set (its Redis side ran); one
// whose message failed has neither. Either breaks I2 (Redis) or I5 (the
// totals).
func adjustmentViolations(f facts) []Violation {
	var notInDB, notInRedis, noMsg, failedRedis []string
	for gid, st := range f.adjusts {
		switch st {
		case prepared, submitted:
		case succeed:
			if !f.applied[gid] {
				notInDB = append(notInDB, gid)
			}
			if !f.adjusted[gid] {
				notInRedis = append(notInRedis, gid)
			}
		default:
			if f.applied[gid] {
				noMsg = append(noMsg, gid)
			}
			if f.adjusted[gid] {
				failedRedis = append(failedRedis, gid)
			}
		}
	}
	return present(
		found("I5", "%d succeeded stock adjustments never changed the total", notInDB, nil),
		found("I2", "%d succeeded stock adjustments never changed the Redis stock", notInRedis, nil),
		found("I5", "%d stock adjustments changed the total without a succeeded message", noMsg, nil),
		found("I2", "%d failed stock adjustments changed the Redis stock", failedRedis, nil),
	)
}

// found is the violation of invariant by gids, sorted, its message format
// given their count, and the ids of their orders when byGID names them;
// nil when gids is empty.
func found(invariant, format string, gids []string, byGID map[string]order) *Violation {
	if len(gids) == 0 {
		return nil
	}
	sort.Strings(gids)
	v := &Violation{Invariant: invariant, Message: fmt.Sprintf(format, len(gids)), GIDs: gids}
	if byGID != nil {
		for _, gid := range gids {
			v.OrderIDs = append(v.OrderIDs, byGID[gid].id)
		}
	}
	return v
}

// present returns the violations found, in order.
func present(vs ...*Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}
