package contract

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The two tables the services share (barrier_sql/mysql.sql; who owns
// each table: docs/architecture.md, "Who owns which table").
//
// orders is the order service's; flashsale reads it, through OrderRow, to
// answer a shopper's order and an activity's counts.
//
// activity_stock, an activity's DB stock, is written by both services,
// each in the transaction that writes its own record: the order service
// takes a unit in the transaction that inserts an order and returns it in
// the one that cancels it; flashsale creates the row in the transaction
// that inserts the activity and adds or removes units in the one that
// records an admin's adjustment. A call over HTTP between the services
// could not share those transactions, so the statements are here, and no
// other code writes the table (boundary_test.go checks it).
//
// The struct tags are gorm's, for the services that read through gorm:
// they name the columns gorm's naming would spell otherwise.

// OrderRow is a row of the orders table.
type OrderRow struct {
	ID           int64
	GID          string `gorm:"column:gid"`
	ActivityID   int64
	UserID       string
	ProductID    int64
	Price        int64
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ExpiresAt    *time.Time // nil: never
	PaidAt       *time.Time
	CancelledAt  *time.Time
	PaymentState string // the order service's record of the charge
}

// TableName names the table for gorm.
func (OrderRow) TableName() string { return "orders" }

// Order returns the row as an Order, its times in UTC.
func (r OrderRow) Order() Order {
	return Order{
		ID: r.ID, GID: r.GID, ActivityID: r.ActivityID, UserID: r.UserID, ProductID: r.ProductID,
		Price: r.Price, Status: r.Status, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: utc(r.ExpiresAt), PaidAt: utc(r.PaidAt), CancelledAt: utc(r.CancelledAt),
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// StockRow is a row of activity_stock: an activity's units (Total) and
// those of them no live order holds (Stock).
type StockRow struct {
	ActivityID int64 `gorm:"primaryKey"`
	Total      int
	Stock      int
}

// TableName names the table for gorm.
func (StockRow) TableName() string { return "activity_stock" }

// Execer runs a statement in the caller's transaction: a *sql.Tx is one,
// and so is a gorm transaction's Statement.ConnPool.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateStock inserts the DB stock row of a new activity of total units,
// all of them in stock.
func CreateStock(ctx context.Context, tx Execer, activityID int64, total int) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO activity_stock (activity_id, total, stock) VALUES (?, ?, ?)",
		activityID, total, total)
	if err != nil {
		return fmt.Errorf("insert the DB stock of activity %d: %w", activityID, err)
	}
	return nil
}

// TakeStock takes n units of the activity's DB stock for new orders. It
// reports false, changing nothing, when fewer than n are in stock.
func TakeStock(ctx context.Context, tx Execer, activityID int64, n int) (bool, error) {
	return changed(tx.ExecContext(ctx, "UPDATE activity_stock SET stock = stock - ? WHERE activity_id = ? AND stock >= ?",
		n, activityID, n))
}

// ReturnStock gives a cancelled order's unit back to the activity's DB
// stock. It reports false, changing nothing, when the stock is full
// already.
func ReturnStock(ctx context.Context, tx Execer, activityID int64) (bool, error) {
	return changed(tx.ExecContext(ctx, "UPDATE activity_stock SET stock = stock + 1 WHERE activity_id = ? AND stock < total",
		activityID))
}

// AddStock adds n units to the activity's total and DB stock. It reports
// false, changing nothing, when the total would pass maxTotal.
func AddStock(ctx context.Context, tx Execer, activityID int64, n, maxTotal int) (bool, error) {
	return changed(tx.ExecContext(ctx, "UPDATE activity_stock SET total = total + ?, stock = stock + ? WHERE activity_id = ? AND total + ? <= ?",
		n, n, activityID, n, maxTotal))
}

// RemoveStock removes n units from the activity's total and DB stock. It
// reports false, changing nothing, when fewer than n are in stock.
func RemoveStock(ctx context.Context, tx Execer, activityID int64, n int) (bool, error) {
	return changed(tx.ExecContext(ctx, "UPDATE activity_stock SET total = total - ?, stock = stock - ? WHERE activity_id = ? AND stock >= ?",
		n, n, activityID, n))
}

// changed reports whether an UPDATE of one row changed it.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
