// Package sqldb is the order service's SQL store: gorm on the schema of
// barrier_sql, with dtm's SQL barrier in the same transaction as the order.
// The barrier is dtmcli's on MySQL and the same protocol on SQLite, the
// embedded mode (package sqlbarrier).
package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sabotage"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// Dialects of the store.
const (
	MySQL  = sqlbarrier.MySQL
	SQLite = sqlbarrier.SQLite
)

// Store implements orders.Store.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB // db's pool, for the group commit (batch.go)
	dialect string
	groups  *grouper
}

// New returns a Store on db, MySQL or SQLite, whose schema sqlconn applied
// (package sqlbarrier tells the two apart). db is a handle on a pool, as
// sqlconn opens it; New panics on a handle without one (inside a
// transaction).
func New(db *gorm.DB) *Store {
	sqlDB, err := db.DB()
	if err != nil {
		panic("sqldb: a gorm handle without a database/sql pool: " + err.Error())
	}
	s := &Store{db: db, sqlDB: sqlDB, dialect: sqlbarrier.Dialect(db)}
	s.groups = &grouper{s: s, linger: groupLinger}
	return s
}

var _ orders.Store = (*Store)(nil)

// Create runs a purchase message's branch behind dtm's SQL barrier,
// committed in a group with the branches that arrive at the same time
// (batch.go).
func (s *Store) Create(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.OrderRequest) error {
	if sabotage.DoubleInsert {
		bb.BarrierID = sabotage.FreshBarrierID() // a broken build of the chaos suite only (internal/sabotage)
		return s.createOne(ctx, bb, req)
	}
	if !groupable(bb) {
		return s.createOne(ctx, bb, req)
	}
	return s.groups.create(ctx, bb, req)
}

// createOne runs one branch in a transaction of its own.
func (s *Store) createOne(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.OrderRequest) error {
	return s.withBarrier(ctx, bb, func(tx *gorm.DB) error {
		o := orderRowFor(bb.Gid, req, time.Now().UTC())
		if err := tx.Create(&o).Error; err != nil && !sabotage.Duplicate(err) { // Duplicate: false but in a broken build
			return fmt.Errorf("insert order: %w", err)
		}
		taken, err := contract.TakeStock(ctx, tx.Statement.ConnPool, req.ActivityID, 1)
		if err != nil {
			return fmt.Errorf("decrement DB stock: %w", err)
		}
		if !taken {
			return fmt.Errorf("activity %d: %w", req.ActivityID, orders.ErrNoDBStock)
		}
		return nil
	})
}

// orderRowFor is the order row a purchase message's branch creates at now.
func orderRowFor(gid string, req contract.OrderRequest, now time.Time) contract.OrderRow {
	payBy := orders.DefaultPayTimeout
	if req.PayTimeoutSeconds > 0 {
		payBy = time.Duration(req.PayTimeoutSeconds) * time.Second
	}
	expires := now.Add(payBy)
	return contract.OrderRow{
		GID: gid, ActivityID: req.ActivityID, UserID: req.UserID, ProductID: req.ProductID,
		Price: req.Price, Status: orders.StatusCreated, CreatedAt: now, UpdatedAt: now, ExpiresAt: &expires,
	}
}

// withBarrier runs busi in one transaction behind bb's barrier (package
// sqlbarrier): a redelivered branch commits nothing and returns nil.
func (s *Store) withBarrier(ctx context.Context, bb *dtmcli.BranchBarrier, busi func(tx *gorm.DB) error) error {
	return sqlbarrier.Run(ctx, s.db, bb, busi)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
