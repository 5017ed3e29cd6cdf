package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	barriersql "github.com/flashsale/flashsale/barrier_sql"
)

// originOf names, for a compensating op, the op it undoes: its barrier row
// is inserted too, so that a compensation arriving before its action (a
// "null compensation") blocks the late action and does nothing itself.
var originOf = map[string]string{
	dtmimp.OpCancel:     dtmimp.OpTry,
	dtmimp.OpCompensate: dtmimp.OpAction,
	dtmimp.OpRollback:   dtmimp.OpAction,
}

// callSQLite is dtm's SQL barrier (dtmcli's BranchBarrier.Call) on SQLite,
// whose insert-ignore dtmcli does not know: one row per (gid, branch_id, op,
// barrier_id) inserted with INSERT OR IGNORE in the business transaction,
// which it commits when busi succeeds and rolls back otherwise.
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
		res, err := tx.Exec("INSERT OR IGNORE INTO "+barriersql.BarrierTable+
			" (trans_type, gid, branch_id, op, barrier_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
			bb.TransType, bb.Gid, bb.BranchID, op, bid, bb.Op)
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

// queryPrepared is dtm's back-check protocol for a message's local step
// (dtmcli's BranchBarrier.QueryPrepared): insert-ignore the step's barrier
// row "<gid>-00-msg-01" with reason 'rollback', then read the row's reason.
// 'rollback' means the local step never committed and now never will; any
// other reason means it committed.
//
// dtmcli's own QueryPrepared is not used, on MySQL either: its SELECT names
// the package-global dtmimp.BarrierTableName ("dtm_barrier.barrier" unless
// the process sets it) rather than bb.BarrierTableName, and this project's
// barrier table is barriersql.BarrierTable in the services' own database.
func (s *Store) queryPrepared(ctx context.Context, gid string) (string, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return "", err
	}
	insert := "INSERT IGNORE INTO "
	if s.dialect == SQLite {
		insert = "INSERT OR IGNORE INTO "
	}
	if _, err := sqlDB.ExecContext(ctx, insert+barriersql.BarrierTable+
		" (trans_type, gid, branch_id, op, barrier_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
		"msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp, dtmimp.MsgDoBarrier1, dtmimp.OpRollback); err != nil {
		return "", fmt.Errorf("close the barrier of %s: %w", gid, err)
	}
	var reason string
	err = sqlDB.QueryRowContext(ctx, "SELECT reason FROM "+barriersql.BarrierTable+
		" WHERE gid = ? AND branch_id = ? AND op = ? AND barrier_id = ?",
		gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp, dtmimp.MsgDoBarrier1).Scan(&reason)
	if err != nil {
		return "", fmt.Errorf("read the barrier of %s: %w", gid, err)
	}
	return reason, nil
}
