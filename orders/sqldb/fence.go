package sqldb

import (
	"context"
	"fmt"

	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
)

// fenceReason marks a barrier row written by Fence rather than by the
// branch: dtm's own rows carry their op as the reason.
const fenceReason = "fence"

// Fence closes the branch of purchase message gid for good: it inserts the
// branch's barrier row (gid, 01, action, 01) unless it is there, so that a
// call of the branch still to come, from any dtm server, finds it and
// creates nothing. The branch inserts the same row in the transaction that
// creates the order, so after the insert either the order exists (the
// branch ran first: ordered is true) or it never will.
func (s *Store) Fence(ctx context.Context, gid string) (ordered bool, err error) {
	if _, err := s.sqlDB.ExecContext(ctx, sqlbarrier.InsertRows(s.dialect, 1), "msg", gid, contract.FirstBranch, dtmimp.OpAction, dtmimp.MsgDoBarrier1, fenceReason); err != nil {
		return false, fmt.Errorf("fence %s: %w", gid, err)
	}
	var n int
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE gid = ?", gid).Scan(&n); err != nil {
		return false, fmt.Errorf("fence %s: %w", gid, err)
	}
	return n > 0, nil
}
