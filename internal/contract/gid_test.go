package contract

import "testing"

func TestParsePurchaseGID(t *testing.T) {
	tests := []struct {
		gid  string
		act  int64
		user string
		ok   bool
	}{
		{"flash-sale-7-alice", 7, "alice", true},
		{"flash-sale-7-user_10", 7, "user_10", true},
		{PurchaseGID(123456789, "Zz9"), 123456789, "Zz9", true},
		{"flash-sale-7-a-b", 0, "", false},
		{"flash-sale-0-alice", 0, "", false},
		{"flash-sale--1-alice", 0, "", false},
		{"flash-sale-x-alice", 0, "", false},
		{"flash-sale-7-", 0, "", false},
		{"flash-sale-07-alice", 0, "", false},
		{"flash-sale-cancel-7-alice", 0, "", false},
		{"other-7-alice", 0, "", false},
	}
	for _, tt := range tests {
		act, user, err := ParsePurchaseGID(tt.gid)
		if (err == nil) != tt.ok || act != tt.act || user != tt.user {
			t.Errorf("ParsePurchaseGID(%q) = %d, %q, %v", tt.gid, act, user, err)
		}
	}
}

func TestBarrierGID(t *testing.T) {
	for _, gid := range []string{PurchaseGID(3, "u_1"), CancelGID(3, "u"), Adjustment{ActivityID: 3, Delta: -5, RequestID: "r"}.GID()} {
		if g := BarrierGID(MsgBarrier(gid)); g != gid {
			t.Errorf("BarrierGID(MsgBarrier(%q)) = %q", gid, g)
		}
		if g := BarrierGID(BranchBarrier(gid)); g != gid {
			t.Errorf("BarrierGID(BranchBarrier(%q)) = %q", gid, g)
		}
	}
}
