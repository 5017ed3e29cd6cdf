package sqldb

import (
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
