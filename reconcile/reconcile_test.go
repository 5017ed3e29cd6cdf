package reconcile

import (
	"fmt"
	"strings"
	"testing"
)

// TestReportString: one line of figures, the pending gids, then one line
// per violation with its ids, at most 20 of each kind.
func TestReportString(t *testing.T) {
	gids := make([]string, 25)
	for i := range gids {
		gids[i] = fmt.Sprintf("g%02d", i)
	}
	r := Report{
		ActivityID: 7, Total: 5, RedisStock: 3, DBStock: 3, LiveOrders: 2, Messages: map[string]int{"succeed": 2},
		Pending: []string{"p1"},
		Violations: []Violation{
			{Invariant: "I3", Message: "user u1 has 2 orders", Users: []string{"u1"}, OrderIDs: []int64{1, 9}},
			{Invariant: "I4", Message: "25 units taken in Redis without an order", GIDs: gids},
		},
	}
	want := "activity 7: total 5, Redis stock 3, DB stock 3, live orders 2, messages map[succeed:2]\n" +
		"  unsettled: 1 messages still prepared or submitted: gids=p1\n" +
		"  I3 user u1 has 2 orders orders=1,9 users=u1\n" +
		"  I4 25 units taken in Redis without an order gids=" + strings.Join(gids[:20], ",") + ",...(5 more)\n"
	if got := r.String(); got != want {
		t.Fatalf("report\n%s\nwant\n%s", got, want)
	}
}
