package reconcile

import (
	"github.com/dtm-labs/client/dtmcli"
	"reflect"
	"testing"

	"github.com/flashsale/flashsale/internal/contract"
)

const act = 7

func buy(user string) string    { return contract.PurchaseGID(act, user) }
func cancel(user string) string { return contract.CancelGID(act, user) }

var (
	added   = contract.Adjustment{ActivityID: act, Delta: 2, RequestID: "r1"}.GID()
	refused = contract.Adjustment{ActivityID: act, Delta: -1, RequestID: "r2"}.GID()
)

// settled is a sale whose promises all hold: 5 units (2 of them added by
// an adjustment; a removal failed), u1's order created, u2's paid, u3's
// cancelled and its unit returned.
func settled() facts {
	return facts{
		activityID: act, total: 5, dbStock: 3, redisStock: 3,
		orders: []order{
			{id: 1, gid: buy("u1"), user: "u1", status: contract.OrderCreated},
			{id: 2, gid: buy("u2"), user: "u2", status: contract.OrderPaid},
			{id: 3, gid: buy("u3"), user: "u3", status: contract.OrderCancelled},
		},
		purchases: map[string]string{buy("u1"): succeed, buy("u2"): succeed, buy("u3"): succeed},
		cancels:   map[string]string{cancel("u3"): succeed},
		adjusts:   map[string]string{added: succeed, refused: dtmcli.StatusFailed},
		taken:     map[string]bool{buy("u1"): true, buy("u2"): true, buy("u3"): true},
		returned:  map[string]bool{cancel("u3"): true},
		adjusted:  map[string]bool{added: true},
		applied:   map[string]bool{added: true},
	}
}

func TestJudgeSettledSale(t *testing.T) {
	r := judge(settled())
	if !r.OK() || r.Unsettled() != 0 || len(r.Pending) != 0 {
		t.Fatalf("a settled sale: %v", r)
	}
	want := Report{
		ActivityID: act, Total: 5, RedisStock: 3, DBStock: 3, LiveOrders: 2,
		Messages: map[string]int{succeed: 3}, Cancels: map[string]int{succeed: 1},
		Adjustments: map[string]int{succeed: 1, dtmcli.StatusFailed: 1}, Violations: []Violation{},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("report\n got %#v\nwant %#v", r, want)
	}
}

// TestJudge breaks the settled sale one way at a time: each way is found,
// and only it.
func TestJudge(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(f *facts)
		want  []Violation
	}{
		{"oversell", func(f *facts) { f.total, f.redisStock, f.dbStock = 1, -1, -1 },
			[]Violation{{Invariant: "I1", Message: "oversell: 2 live orders for 1 units"}}},
		{"Redis stock short of the total (undersell)", func(f *facts) { f.redisStock = 2 },
			[]Violation{{Invariant: "I2", Message: "Redis stock 2 + live orders 2 != total 5"}}},
		{"Redis stock past the total", func(f *facts) { f.redisStock = 4 },
			[]Violation{{Invariant: "I2", Message: "Redis stock 4 + live orders 2 != total 5"}}},
		{"two orders of one user", func(f *facts) {
			f.orders = append(f.orders, order{id: 9, gid: "flash-sale-7-u1-again", user: "u1", status: contract.OrderCreated})
			f.purchases["flash-sale-7-u1-again"] = succeed
			f.taken["flash-sale-7-u1-again"] = true
			f.redisStock, f.dbStock = 2, 2
		}, []Violation{{Invariant: "I3", Message: "user u1 has 2 orders", Users: []string{"u1"}, OrderIDs: []int64{1, 9}}}},
		{"DB stock apart from the orders", func(f *facts) { f.dbStock = 4 },
			[]Violation{{Invariant: "I5", Message: "DB stock 4 != total 5 - live orders 2"}}},
		{"a unit taken without an order", func(f *facts) {
			f.taken[buy("u9")] = true
			f.purchases[buy("u9")] = dtmcli.StatusFailed
		}, []Violation{{Invariant: "I4", Message: "1 units taken in Redis without an order", GIDs: []string{buy("u9")}}}},
		{"a succeeded purchase without an order", func(f *facts) { f.purchases[buy("u8")] = succeed },
			[]Violation{{Invariant: "I4", Message: "1 succeeded messages without an order", GIDs: []string{buy("u8")}}}},
		{"an order without a succeeded purchase", func(f *facts) { f.purchases[buy("u2")] = dtmcli.StatusFailed },
			[]Violation{{Invariant: "I4", Message: "1 orders without a succeeded message", GIDs: []string{buy("u2")}, OrderIDs: []int64{2}}}},
		{"a cancelled order without its cancellation", func(f *facts) { delete(f.cancels, cancel("u3")) },
			[]Violation{{Invariant: "I2", Message: "1 cancelled orders without a cancellation message that commits: their units may never return to Redis", GIDs: []string{cancel("u3")}, OrderIDs: []int64{3}}}},
		{"a cancelled order whose unit never came back", func(f *facts) { delete(f.returned, cancel("u3")) },
			[]Violation{{Invariant: "I2", Message: "1 cancelled orders whose units were never returned to Redis", GIDs: []string{cancel("u3")}, OrderIDs: []int64{3}}}},
		{"a unit returned for a live order", func(f *facts) { f.returned[cancel("u1")] = true },
			[]Violation{{Invariant: "I2", Message: "1 units returned to Redis for orders that are not cancelled", GIDs: []string{cancel("u1")}}}},
		{"a cancellation of a live order succeeded", func(f *facts) { f.cancels[cancel("u2")] = succeed },
			[]Violation{{Invariant: "I2", Message: "1 cancellations succeeded for orders that are not cancelled", GIDs: []string{cancel("u2")}}}},
		{"a succeeded adjustment missing from the totals", func(f *facts) { delete(f.applied, added) },
			[]Violation{{Invariant: "I5", Message: "1 succeeded stock adjustments never changed the total", GIDs: []string{added}}}},
		{"a succeeded adjustment missing from Redis", func(f *facts) { delete(f.adjusted, added) },
			[]Violation{{Invariant: "I2", Message: "1 succeeded stock adjustments never changed the Redis stock", GIDs: []string{added}}}},
		{"a failed adjustment in the totals", func(f *facts) { f.applied[refused] = true },
			[]Violation{{Invariant: "I5", Message: "1 stock adjustments changed the total without a succeeded message", GIDs: []string{refused}}}},
		{"a failed adjustment in Redis", func(f *facts) { f.adjusted[refused] = true },
			[]Violation{{Invariant: "I2", Message: "1 failed stock adjustments changed the Redis stock", GIDs: []string{refused}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := settled()
			c.spoil(&f)
			if got := judge(f).Violations; !reflect.DeepEqual(got, c.want) {
				t.Fatalf("violations\n got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

// TestJudgeWaitsForUnsettledMessages: a unit taken, a cancelled order and
// an adjustment whose messages are still prepared or submitted break
// nothing yet; they are reported as pending, sorted.
func TestJudgeWaitsForUnsettledMessages(t *testing.T) {
	f := settled()
	f.taken[buy("u9")] = true
	f.purchases[buy("u9")] = prepared
	f.cancels[cancel("u3")] = submitted
	delete(f.returned, cancel("u3"))
	f.adjusts[added] = submitted
	delete(f.applied, added)
	delete(f.adjusted, added)
	r := judge(f)
	if !r.OK() {
		t.Fatalf("violations while messages are unsettled: %v", r)
	}
	want := []string{buy("u9"), cancel("u3"), added}
	if !reflect.DeepEqual(r.Pending, want) || r.Unsettled() != 3 {
		t.Fatalf("pending %v (unsettled %d), want %v", r.Pending, r.Unsettled(), want)
	}
}
