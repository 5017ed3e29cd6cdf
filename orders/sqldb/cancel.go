package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// errNotDue is the back-check's roll-forward finding no order it may
// cancel while none was paid either: the order is created but its time to
// pay has not ended, or there is no such order (yet). It wraps
// orders.ErrNotCancellable.
var errNotDue = fmt.Errorf("no order whose time to pay has ended: %w", orders.ErrNotCancellable)

// Cancel is the local step of a cancellation message bb (its DoAndSubmit
// barrier, "<gid>-00-msg-01"): in one transaction behind dtm's SQL
// barrier, user's order in activity goes from created to cancelled and its
// unit back into the DB stock. It returns orders.ErrNotCancellable, having
// committed nothing, when the order is not created (it was paid first),
// and dtmcli.ErrDuplicated when the barrier is already there: the step ran
// before, or the back-check ran it or closed it.
//
// The canceller calls it only for an order that Expired listed; the
// back-check's own run of the step (CancelQuery) also requires the time to
// pay to be over.
func (s *Store) Cancel(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, userID string, now time.Time) error {
	return s.cancel(ctx, bb, activityID, userID, now, false)
}

// cancel is Cancel; with due, it cancels only an order whose time to pay
// ended at or before now, and returns errNotDue, having committed nothing,
// for a created order still payable or no order at all.
func (s *Store) cancel(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, userID string, now time.Time, due bool) error {
	return s.withBarrier(ctx, bb, func(tx *gorm.DB) error {
		now := now.UTC()
		q := "UPDATE orders SET status = ?, cancelled_at = ?, updated_at = ? WHERE activity_id = ? AND user_id = ? AND status = ?"
		args := []any{orders.StatusCancelled, now, now, activityID, userID, orders.StatusCreated}
		if due {
			q += " AND expires_at <= ?"
			args = append(args, now)
		}
		res := tx.Exec(q, args...)
		if res.Error != nil {
			return fmt.Errorf("cancel order: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			if !due {
				return orders.ErrNotCancellable
			}
			var status []string
			if err := tx.Raw("SELECT status FROM orders WHERE activity_id = ? AND user_id = ?", activityID, userID).Scan(&status).Error; err != nil {
				return fmt.Errorf("read the order: %w", err)
			}
			if len(status) == 0 || status[0] == orders.StatusCreated {
				return errNotDue
			}
			return orders.ErrNotCancellable
		}
		returned, err := contract.ReturnStock(ctx, tx.Statement.ConnPool, activityID)
		if err != nil {
			return fmt.Errorf("return the unit to DB stock: %w", err)
		}
		if !returned {
			return fmt.Errorf("activity %d: %w", activityID, orders.ErrDBStockFull)
		}
		return nil
	})
}

// CancelQuery is the back-check of cancellation message gid, which cancels
// user's order in activity. It returns nil when the message's local step
// has committed, and orders.ErrCancelRolledBack when it has not and the
// message must fail.
//
// Unlike dtm's QueryPrepared, which closes a barrier it finds absent and so
// fails the message, it first runs the local step itself (behind the same
// barrier) when the order is created and its time to pay ended at or
// before now: a cancellation whose canceller died before its local step
// then still cancels the order, instead of failing a gid that no later
// attempt could prepare again and leaving the expired order created for
// good. It never cancels an order still payable: the canceller starts a
// cancellation only once the time to pay is over (and now only moves on),
// so a back-check that finds the order unexpired, with no local step run,
// answers for no message of the canceller's, and the answer is
// ErrCancelRolledBack.
//
// That answer leaves the barrier open: a 'rollback' row would make every
// later cancellation of the order fail (the gid is the order's), so a
// caller reaching the listener could keep an unpaid order from ever giving
// its unit back. No local step can commit on an unexpired order it answered
// for unless the canceller's clock runs more than the message's
// TimeoutToFail ahead of this one. Only when the order is not created any
// more (it was paid) does it close the barrier as dtm does, with a
// 'rollback' row, so that a late local step cannot commit.
func (s *Store) CancelQuery(ctx context.Context, gid string, activityID int64, userID string, now time.Time) error {
	bb, err := dtmcli.BarrierFrom("msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp)
	if err != nil {
		return err
	}
	err = s.cancel(ctx, bb, activityID, userID, now, true)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNotDue):
		return orders.ErrCancelRolledBack
	case errors.Is(err, dtmcli.ErrDuplicated), errors.Is(err, orders.ErrNotCancellable):
	default:
		return err
	}
	committed, err := sqlbarrier.QueryPrepared(ctx, s.db, gid)
	if err != nil {
		return err
	}
	if !committed {
		return orders.ErrCancelRolledBack
	}
	return nil
}
