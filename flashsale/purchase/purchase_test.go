package purchase

import (
	"testing"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
)

// TestBarrierName: the barrier the local step takes is the one dtm's
// DoAndSubmit names and the one the back-check closes.
func TestBarrierName(t *testing.T) {
	gid := contract.PurchaseGID(42, "alice")
	bb, err := dtmcli.BarrierFrom("msg", gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := contract.NextBarrier(bb), contract.MsgBarrier(gid); got != want || got != "flash-sale-42-alice-00-msg-01" {
		t.Fatalf("BarrierName = %q, MsgBarrier = %q", got, want)
	}
}
