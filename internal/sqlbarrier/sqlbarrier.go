// Package sqlbarrier runs dtm's SQL barrier protocol on the services' gorm
// handle: a business transaction behind a barrier row, and the back-check of
// a message whose local step is such a transaction. On MySQL the barrier is
// dtmcli's own (BranchBarrier.Call); on SQLite, the embedded mode, the same
// protocol with SQLite's INSERT OR IGNORE, which dtmcli does not know.
package sqlbarrier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	barriersql "github.com/flashsale/flashsale/barrier_sql"
	"gorm.io/gorm"
)

// Dialects of the services' database.
const (
	MySQL  = "mysql"
	SQLite = "sqlite"
)

// Dialect returns the dialect of db: SQLite for the embedded mode's file,
// MySQL otherwise.
func Dialect(db *gorm.DB) string {
	if db.Dialector != nil && db.Dialector.Name() == "sqlite" {
		return SQLite
	}
	return MySQL
}

// InsertRows is the statement that inserts rows barrier rows on dialect,
// each of six values (trans_type, gid, branch_id, op, barrier_id, reason),
// and skips a row already there: MySQL's INSERT IGNORE, SQLite's INSERT OR
// IGNORE.
func InsertRows(dialect string, rows int) string {
	verb := "INSERT IGNORE INTO "
	if dialect == SQLite {
		verb = "INSERT OR IGNORE INTO "
	}
	one := "(?, ?, ?, ?, ?, ?)"
	return verb + barriersql.BarrierTable + " (trans_type, gid, branch_id, op, barrier_id, reason) VALUES " +
		strings.Repeat(one+", ", rows-1) + one
}

// Run runs busi in one transaction behind bb's next barrier: the barrier
// row is inserted first, and a redelivered branch (row already there)
// commits nothing and returns nil. A message's local step (op "msg") whose
// row is already there returns dtmcli.ErrDuplicated instead: it ran before,
// or the back-check closed it.
func Run(ctx context.Context, db *gorm.DB, bb *dtmcli.BranchBarrier, busi func(tx *gorm.DB) error) error {
	tx := db.WithContext(ctx).Begin()
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
	if Dialect(db) == SQLite {
		return callSQLite(sqlTx, bb, call)
	}
	bb.DBType = dtmcli.DBTypeMysql
	bb.BarrierTableName = barriersql.BarrierTable
	return bb.Call(sqlTx, call)
}

// originOf names, for a compensating op, the op it undoes: its barrier row
// is inserted too, so that a compensation arriving before its action (a
// "null compensation") blocks the late action and does nothing itself.
var originOf = map[string]string{
	dtmimp.OpCancel:     dtmimp.OpTry,
	dtmimp.OpCompensate: dtmimp.OpAction,
	dtmimp.OpRollback:   dtmimp.OpAction,
}

// callSQLite is dtmcli's BranchBarrier.Call on SQLite: one row per (gid,
// branch_id, op, barrier_id) inserted with INSERT OR IGNORE in the business
// transaction, which it commits when busi succeeds and rolls back otherwise.
func callSQLite(tx *sql.Tx, bb *dtmcli.BranchBarrier, busi dtmcli.BarrierBusiFunc) (rerr error) {
	bb.BarrierID++
	bid := fmt.Sprintf("%02d", bb.BarrierID)
	defer func() {
		if rerr != nil {
			tx.Rollback()
			return
		}
		rerr = tx.Commit()
	}()
	insert := func(op string) (int64, error) {
		if op == "" {
			return 0, nil
		}
		res, err := tx.Exec(InsertRows(SQLite, 1), bb.TransType, bb.Gid, bb.BranchID, op, bid, bb.Op)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	originAffected, err := insert(originOf[bb.Op])
	if err != nil {
		return err
	}
	currentAffected, err := insert(bb.Op)
	if err != nil {
		return err
	}
	if bb.Op == dtmimp.MsgDoOp && currentAffected == 0 {
		return dtmcli.ErrDuplicated
	}
	if currentAffected == 0 || originOf[bb.Op] != "" && originAffected > 0 {
		return nil // a repeated branch, or a null compensation
	}
	return busi(tx)
}

// QueryPrepared is dtm's back-check protocol for a message's local step
// (dtmcli's BranchBarrier.QueryPrepared): insert-ignore the step's barrier
// row "<gid>-00-msg-01" with reason 'rollback', then read the row's reason.
// It reports whether the local step committed; false means it never did
// and now never will.
//
// dtmcli's own QueryPrepared is not used, on MySQL either: its SELECT names
// the package-global dtmimp.BarrierTableName ("dtm_barrier.barrier" unless
// the process sets it) rather than bb.BarrierTableName, and this project's
// barrier table is barriersql.BarrierTable in the services' own database.
func QueryPrepared(ctx context.Context, db *gorm.DB, gid string) (committed bool, err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return false, err
	}
	if _, err := sqlDB.ExecContext(ctx, InsertRows(Dialect(db), 1), "msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp, dtmimp.MsgDoBarrier1, dtmimp.OpRollback); err != nil {
		return false, fmt.Errorf("close the barrier of %s: %w", gid, err)
	}
	var reason string
	err = sqlDB.QueryRowContext(ctx, "SELECT reason FROM "+barriersql.BarrierTable+
		" WHERE gid = ? AND branch_id = ? AND op = ? AND barrier_id = ?",
		gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp, dtmimp.MsgDoBarrier1).Scan(&reason)
	if err != nil {
		return false, fmt.Errorf("read the barrier of %s: %w", gid, err)
	}
	return reason != dtmimp.OpRollback, nil
}
