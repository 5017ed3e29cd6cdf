// Package sqldb is the order service's SQL store: gorm on the schema of
// barrier_sql, with dtm's SQL barrier in the same transaction as the order.
// On MySQL the barrier is dtmcli's own (BranchBarrier.Call); on SQLite, the
// embedded mode, the same protocol with SQLite's insert-ignore (barrier.go).
package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	barriersql "github.com/flashsale/flashsale/barrier_sql"
	"github.com/flashsale/flashsale/internal/sabotage"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// Dialects of the store.
const (
	MySQL  = "mysql"
	SQLite = "sqlite"
)

type orderRow struct {
	ID           int64
	GID          string `gorm:"column:gid"`
	ActivityID   int64
	UserID       string
	ProductID    int64
	Price        int64
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ExpiresAt    *time.Time
	PaidAt       *time.Time
	CancelledAt  *time.Time
	PaymentState string
}

func (orderRow) TableName() string { return "orders" }

// Store implements orders.Store.
type Store struct {
	db      *gorm.DB
	dialect string
}

// New returns a Store on db, whose schema sqlconn applied, in dialect
// MySQL or SQLite.
func New(db *gorm.DB, dialect string) *Store { return &Store{db: db, dialect: dialect} }

var _ orders.Store = (*Store)(nil)

// Create runs a purchase message's branch behind dtm's SQL barrier.
func (s *Store) Create(ctx context.Context, bb *dtmcli.BranchBarrier, req orders.CreateRequest) error {
	if sabotage.DoubleInsert {
		bb.BarrierID = sabotage.FreshBarrierID() // a broken build of the chaos suite only (internal/sabotage)
	}
	return s.withBarrier(ctx, bb, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		payBy := orders.DefaultPayTimeout
		if req.PayTimeoutSeconds > 0 {
			payBy = time.Duration(req.PayTimeoutSeconds) * time.Second
		}
		expires := now.Add(payBy)
		o := orderRow{
			GID: bb.Gid, ActivityID: req.ActivityID, UserID: req.UserID, ProductID: req.ProductID,
			Price: req.Price, Status: orders.StatusCreated, CreatedAt: now, UpdatedAt: now, ExpiresAt: &expires,
		}
		if err := tx.Create(&o).Error; err != nil && !sabotage.Duplicate(err) { // Duplicate: false but in a broken build
			return fmt.Errorf("insert order: %w", err)
		}
		res := tx.Exec("UPDATE activity_stock SET stock = stock - 1 WHERE activity_id = ? AND stock > 0", req.ActivityID)
		if res.Error != nil {
			return fmt.Errorf("decrement DB stock: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("activity %d: %w", req.ActivityID, orders.ErrNoDBStock)
		}
		return nil
	})
}

// withBarrier runs busi in one transaction behind bb's barrier: the barrier
// row is inserted first, and a redelivered branch (row already there)
// commits nothing and returns nil.
func (s *Store) withBarrier(ctx context.Context, bb *dtmcli.BranchBarrier, busi func(tx *gorm.DB) error) error {
	tx := s.db.WithContext(ctx).Begin()
	if tx.Error != nil {
		return tx.Error
	}
	// The barrier works on a *sql.Tx and commits or rolls it back itself;
	// gorm runs the business statements on the same *sql.Tx.
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		tx.Rollback()
		return fmt.Errorf("gorm transaction is %T, not *sql.Tx", tx.Statement.ConnPool)
	}
	call := func(*sql.Tx) error { return busi(tx) }
	if s.dialect == SQLite {
		return callSQLite(sqlTx, bb, call)
	}
	bb.DBType = dtmcli.DBTypeMysql
	bb.BarrierTableName = barriersql.BarrierTable
	return bb.Call(sqlTx, call)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
