package contract

import (
	"fmt"
	"strings"

	"github.com/dtm-labs/client/dtmcli"
)

// Branch ids as dtm numbers a message's calls: "00" is the local step
// (and the back-check), the first branch is "01". Every message of this
// project has one branch.
const (
	LocalBranch = "00"
	FirstBranch = "01"
)

// Barrier states of a local step in Redis (dtm's Redis barrier protocol):
// absent, taken by the local step, or closed by the back-check.
const (
	BarrierAbsent   = ""
	BarrierTaken    = "op"
	BarrierRollback = "rollback"
)

// MsgBarrier names the barrier of a message's local step as dtm names the
// barrier of DoAndSubmit: "<gid>-00-msg-01".
func MsgBarrier(gid string) string { return gid + "-" + LocalBranch + "-msg-01" }

// BranchBarrier names the first barrier of a message's only branch as dtm
// names it: "<gid>-01-action-01". A cancellation's return of its unit and
// an addition of units keep theirs in Redis under this name.
func BranchBarrier(gid string) string { return gid + "-" + FirstBranch + "-action-01" }

// NextBarrier advances bb to its next barrier and names it as dtm's
// barriers do: "<gid>-<branch>-<op>-<barrier id>". For DoAndSubmit's local
// step that is MsgBarrier(gid).
func NextBarrier(bb *dtmcli.BranchBarrier) string {
	bb.BarrierID++
	return fmt.Sprintf("%s-%s-%s-%02d", bb.Gid, bb.BranchID, bb.Op, bb.BarrierID)
}

// BarrierGID returns the gid of a barrier name "<gid>-<branch>-<op>-<id>":
// gids contain '-', the three fields after them do not.
func BarrierGID(barrier string) string {
	end := len(barrier)
	for range 3 {
		i := strings.LastIndexByte(barrier[:end], '-')
		if i < 0 {
			return barrier
		}
		end = i
	}
	return barrier[:end]
}
