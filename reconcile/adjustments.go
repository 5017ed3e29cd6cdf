package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/dtm-labs/client/dtmcli"
)

// checkAdjustments counts the activity's stock adjustments into r and
// checks that each moved every store exactly once: an adjustment whose
// message succeeded is recorded in stock_adjustments (its SQL side ran, in
// the transaction that changed the totals) and has its Redis barrier set
// (its Redis side ran); one whose message failed has neither. adjusts are
// the listed adjustment messages, adjusted the adjustment gids whose Redis
// barrier is set. Either violation breaks I2 (Redis) or I5 (the totals).
func checkAdjustments(ctx context.Context, src Sources, r *Report, adjusts map[string]string, adjusted map[string]bool) error {
	rows, err := src.DB.QueryContext(ctx, "SELECT gid FROM stock_adjustments WHERE activity_id = ?", r.ActivityID)
	if err != nil {
		return fmt.Errorf("stock adjustments: %w", err)
	}
	applied := map[string]bool{}
	for rows.Next() {
		var gid string
		if err := rows.Scan(&gid); err != nil {
			rows.Close()
			return err
		}
		applied[gid] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// As for purchases, dtm's listing can skip transactions.
	for gid := range applied {
		if _, ok := adjusts[gid]; !ok {
			st, err := messageStatus(ctx, src, gid)
			if err != nil {
				return err
			}
			adjusts[gid] = st
		}
	}
	var notInDB, notInRedis, noMsg, failedRedis []string
	for gid, st := range adjusts {
		r.Adjustments[st]++
		switch st {
		case dtmcli.StatusPrepared, dtmcli.StatusSubmitted:
			r.Pending = append(r.Pending, gid)
		case dtmcli.StatusSucceed:
			if !applied[gid] {
				notInDB = append(notInDB, gid)
			}
			if !adjusted[gid] {
				notInRedis = append(notInRedis, gid)
			}
		default:
			if applied[gid] {
				noMsg = append(noMsg, gid)
			}
			if adjusted[gid] {
				failedRedis = append(failedRedis, gid)
			}
		}
	}
	sort.Strings(r.Pending)
	add := func(inv, msg string, gids []string) {
		if len(gids) > 0 {
			sort.Strings(gids)
			r.Violations = append(r.Violations, Violation{Invariant: inv, Message: fmt.Sprintf(msg, len(gids)), GIDs: gids})
		}
	}
	add("I5", "%d succeeded stock adjustments never changed the total", notInDB)
	add("I2", "%d succeeded stock adjustments never changed the Redis stock", notInRedis)
	add("I5", "%d stock adjustments changed the total without a succeeded message", noMsg)
	add("I2", "%d failed stock adjustments changed the Redis stock", failedRedis)
	return nil
}
