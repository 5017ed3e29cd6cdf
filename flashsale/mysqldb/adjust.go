package mysqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"gorm.io/gorm"
)

// CancelActivity ends the activity at now (flashsale.Activity.Cancelled).
func (c *Catalog) CancelActivity(ctx context.Context, id int64, now time.Time) (flashsale.Activity, error) {
	a, err := c.Activity(ctx, id)
	if err != nil {
		return a, err
	}
	if !now.Before(a.EndAt) {
		return a, nil // over already
	}
	done := a.Cancelled(now)
	err = c.db.WithContext(ctx).Exec("UPDATE activities SET start_at = ?, end_at = ? WHERE id = ? AND end_at > ?",
		done.StartAt, done.EndAt, id, done.EndAt).Error
	if err != nil {
		return a, fmt.Errorf("cancel activity %d: %w", id, err)
	}
	return c.Activity(ctx, id)
}

// AddUnits is the local step of an admin's addition of n units, message
// gid, behind its SQL barrier bb: the activity's total and DB stock rise by
// n and the adjustment is recorded, in one transaction. It returns an
// Error EBadRequest, committing nothing, when the total would pass
// maxTotal, and dtmcli.ErrDuplicated when the barrier is already there.
func (c *Catalog) AddUnits(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, n, maxTotal int) error {
	return sqlbarrier.Run(ctx, c.db, bb, func(tx *gorm.DB) error {
		added, err := contract.AddStock(ctx, tx.Statement.ConnPool, activityID, n, maxTotal)
		if err != nil {
			return fmt.Errorf("raise DB stock: %w", err)
		}
		if !added {
			return contract.Errorf(contract.EBadRequest, "activity %d would have more than %d units", activityID, maxTotal)
		}
		return recordAdjustment(tx, bb.Gid, activityID, n)
	})
}

// RemoveUnits is the branch of an admin's removal of n units, message gid,
// behind its SQL barrier bb: the units, already taken from the Redis stock
// by the message's local step, leave the activity's total and DB stock. A
// redelivered branch changes nothing.
func (c *Catalog) RemoveUnits(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, n int) error {
	return sqlbarrier.Run(ctx, c.db, bb, func(tx *gorm.DB) error {
		// The Redis stock never exceeds the DB stock (every change lowers
		// Redis first or raises the DB first), so the units are there.
		removed, err := contract.RemoveStock(ctx, tx.Statement.ConnPool, activityID, n)
		if err != nil {
			return fmt.Errorf("lower DB stock: %w", err)
		}
		if !removed {
			return fmt.Errorf("activity %d: the DB stock holds fewer than %d units", activityID, n)
		}
		return recordAdjustment(tx, bb.Gid, activityID, -n)
	})
}

func recordAdjustment(tx *gorm.DB, gid string, activityID int64, delta int) error {
	if err := tx.Exec("UPDATE activities SET total = total + ? WHERE id = ?", delta, activityID).Error; err != nil {
		return fmt.Errorf("change the activity's total: %w", err)
	}
	err := tx.Exec("INSERT INTO stock_adjustments (gid, activity_id, delta, created_at) VALUES (?, ?, ?, ?)",
		gid, activityID, delta, time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("record adjustment %s: %w", gid, err)
	}
	return nil
}

// AddCommitted is the back-check of an addition, message gid: it reports
// whether the local step committed, closing its barrier when it had not so
// that it never will.
func (c *Catalog) AddCommitted(ctx context.Context, gid string) (bool, error) {
	return sqlbarrier.QueryPrepared(ctx, c.db, gid)
}

// Ledger returns the activity's total and the adjustments it includes,
// read in one transaction.
func (c *Catalog) Ledger(ctx context.Context, activityID int64) (flashsale.Ledger, error) {
	l := flashsale.Ledger{Applied: map[string]bool{}}
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var st contract.StockRow
		if err := tx.First(&st, "activity_id = ?", activityID).Error; err != nil {
			return notFound(err, "activity %d has no DB stock", activityID)
		}
		l.Total = st.Total
		var gids []string
		if err := tx.Raw("SELECT gid FROM stock_adjustments WHERE activity_id = ?", activityID).Scan(&gids).Error; err != nil {
			return err
		}
		for _, g := range gids {
			l.Applied[g] = true
		}
		return nil
	})
	if err != nil {
		return flashsale.Ledger{}, err
	}
	return l, nil
}

// Adjustments returns the adjustments applied to the activity's total,
// oldest first.
func (c *Catalog) Adjustments(ctx context.Context, activityID int64) ([]flashsale.AppliedAdjustment, error) {
	var rows []struct {
		GID       string `gorm:"column:gid"`
		Delta     int
		CreatedAt time.Time
	}
	err := c.db.WithContext(ctx).Raw("SELECT gid, delta, created_at FROM stock_adjustments WHERE activity_id = ? ORDER BY created_at, gid", activityID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]flashsale.AppliedAdjustment, 0, len(rows))
	for _, r := range rows {
		adj, err := contract.ParseAdjustGID(r.GID)
		if err != nil {
			return nil, err
		}
		out = append(out, flashsale.AppliedAdjustment{GID: r.GID, Delta: r.Delta, RequestID: adj.RequestID, AppliedAt: r.CreatedAt.UTC()})
	}
	return out, nil
}
