package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// Cancel is the local step of a cancellation message bb (its DoAndSubmit
// barrier, "<gid>-00-msg-01"): in one transaction behind dtm's SQL
// barrier, user's order in activity goes from created to cancelled and its
// unit back into the DB stock. It returns orders.ErrNotCancellable, having
// committed nothing, when the order is not created (it was paid first),
// and dtmcli.ErrDuplicated when the barrier is already there: the step ran
// before, or the back-check ran it or closed it.
func (s *Store) Cancel(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, userID string, now time.Time) error {
	return s.withBarrier(ctx, bb, func(tx *gorm.DB) error {
		now := now.UTC()
		res := tx.Exec("UPDATE orders SET status = ?, cancelled_at = ?, updated_at = ? WHERE activity_id = ? AND user_id = ? AND status = ?",
			orders.StatusCancelled, now, now, activityID, userID, orders.StatusCreated)
		if res.Error != nil {
			return fmt.Errorf("cancel order: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return orders.ErrNotCancellable
		}
		res = tx.Exec("UPDATE activity_stock SET stock = stock + 1 WHERE activity_id = ? AND stock < total", activityID)
		if res.Error != nil {
			return fmt.Errorf("return the unit to DB stock: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("activity %d: %w", activityID, orders.ErrDBStockFull)
		}
		return nil
	})
}

// CancelQuery is the back-check of cancellation message gid, which cancels
// user's order in activity. It returns nil when the message's local step
// has committed, and orders.ErrCancelRolledBack when it never can.
//
// Unlike dtm's QueryPrepared, which closes a barrier it finds absent and so
// fails the message, it first runs the local step itself (Cancel, behind
// the same barrier): a cancellation whose canceller died before its local
// step then still cancels the order, instead of failing a gid that no later
// attempt could prepare again and leaving the expired order created for
// good. Only when the order is not created any more (it was paid) does it
// close the barrier as dtm does, with a 'rollback' row, so that a late
// local step cannot commit.
func (s *Store) CancelQuery(ctx context.Context, gid string, activityID int64, userID string, now time.Time) error {
	bb, err := dtmcli.BarrierFrom("msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp)
	if err != nil {
		return err
	}
	err = s.Cancel(ctx, bb, activityID, userID, now)
	switch {
	case err == nil:
		return nil
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
