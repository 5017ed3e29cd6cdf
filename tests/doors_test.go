package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/reconcile"
)

// The doors of the services, tried as an intruder on the services' network
// would: every internal endpoint straight, with no signature, a wrong one
// or one made for another call, and the dtm server asked to call them.
// After each try nothing may have changed: stock in Redis and the DB, the
// activity's orders and barriers, and reconcile's verdict.

// sale is what an intruder could change of an activity.
type sale struct {
	redis    int64
	db       int
	orders   string // "<id>:<user>:<status>" of every order, in id order
	barriers int
}

func (s *stack) snapshot(act int64) sale {
	s.t.Helper()
	ctx := context.Background()
	rows, err := env.db.Query("SELECT id, user_id, status FROM orders WHERE activity_id = ? ORDER BY id", act)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var user, status string
		if err := rows.Scan(&id, &user, &status); err != nil {
			s.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d:%s:%s ", id, user, status)
	}
	keys, err := env.rdb.Keys(ctx, contract.BarrierKey(act, 0, "*")).Result()
	if err != nil {
		s.t.Fatal(err)
	}
	return sale{redis: redisStock(s.t, act), db: dbStock(s.t, act), orders: b.String(), barriers: len(keys)}
}

// signature returns a request editor that sends the signature header
// value sig ("": none), for an intruder's raw call.
func signature(sig string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		if sig != "" {
			r.Header.Set(contract.SignatureHeader, sig)
		}
		return nil
	}
}

func testKey(t *testing.T) contract.Key {
	k, err := contract.ParseKey(internalKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func dtmQuery(gid, branch, op string) string {
	return "?gid=" + gid + "&trans_type=msg&branch_id=" + branch + "&op=" + op
}

// TestForgedInternalCalls sends every internal call straight to its
// listener without a valid signature: each is answered 401 and changes
// nothing.
func TestForgedInternalCalls(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	orderID, _ := s.buyOrder(act, "alice")
	s.SettleStores(act, 15*time.Second)
	before := s.snapshot(act)

	wrongKey, _ := contract.ParseKey(strings.Repeat("w", 40))
	create := contract.OrderRequest{ActivityID: act, UserID: "mallory", ProductID: 1, Price: 1}
	createGID := contract.PurchaseGID(act, "mallory")
	returnBody := mustJSON(contract.ReturnRequest{ActivityID: act, UserID: "alice"})
	cancelGID := contract.CancelGID(act, "alice")
	add := contract.Adjustment{ActivityID: act, Delta: 1000, RequestID: "forged"}
	doors := []struct {
		name, method, url string
		body              []byte
		sig               string
	}{
		{"createOrder", "POST", s.ordersURL() + contract.RouteCreateOrder + dtmQuery(createGID, "01", "action"), mustJSON(create), ""},
		{"createOrder, other key", "POST", s.ordersURL() + contract.RouteCreateOrder + dtmQuery(createGID, "01", "action"), mustJSON(create),
			wrongKey.MessageSignatures(createGID, contract.RouteCreateOrder, mustJSON(create), contract.RoutePurchaseQuery)},
		{"createOrder, garbage", "POST", s.ordersURL() + contract.RouteCreateOrder + dtmQuery(createGID, "01", "action"), mustJSON(create), "c2lnbmVk"},
		{"pay", "POST", s.ordersURL() + contract.PayPath(orderID), mustJSON(contract.PayRequest{UserID: "alice"}), ""},
		// A fence would keep bob's order from ever being created.
		{"fence", "POST", s.ordersURL() + contract.RouteFence, mustJSON(contract.FenceRequest{GID: contract.PurchaseGID(act, "bob")}), ""},
		{"fence, other key", "POST", s.ordersURL() + contract.RouteFence, mustJSON(contract.FenceRequest{GID: contract.PurchaseGID(act, "bob")}),
			wrongKey.Sign(contract.Call{Path: contract.RouteFence, Body: mustJSON(contract.FenceRequest{GID: contract.PurchaseGID(act, "bob")})})},
		{"cancel-query", "GET", s.ordersURL() + contract.RouteCancelQuery + dtmQuery(cancelGID, "00", "msg"), nil, ""},
		{"stock return", "POST", s.internalURL() + contract.RouteStockReturn + dtmQuery(cancelGID, "01", "action"), returnBody, ""},
		{"purchase back-check", "GET", s.internalURL() + contract.RoutePurchaseQuery + dtmQuery(contract.PurchaseGID(act, "bob"), "00", "msg"), nil, ""},
		{"adjustment branch", "POST", s.internalURL() + contract.RouteAdjustBranch + dtmQuery(add.GID(), "01", "action"),
			mustJSON(contract.AdjustRequest{ActivityID: act, Delta: add.Delta}), ""},
		{"adjustment back-check", "GET", s.internalURL() + contract.RouteAdjustQuery + dtmQuery(contract.Adjustment{ActivityID: act, Delta: -5, RequestID: "forged"}.GID(), "00", "msg"), nil, ""},
	}
	for _, d := range doors {
		if code, e := s.Raw(d.method, d.url, d.body, signature(d.sig)); code != http.StatusUnauthorized || e.Error != api.ErrorCodeUnauthorized {
			t.Errorf("%s: %d %+v, want 401 unauthorized", d.name, code, e)
		}
	}
	time.Sleep(500 * time.Millisecond) // anything that got through has had time to land
	if after := s.snapshot(act); after != before {
		t.Errorf("the forged calls changed the sale:\nbefore %+v\nafter  %+v", before, after)
	}
	// bob's one attempt was not spent by the forged back-check, and
	// alice's order is still hers to pay.
	if code, e := s.Buy(act, "bob"); code != http.StatusAccepted {
		t.Errorf("bob's buy after the forged back-check: %d %s", code, e)
	}
	if r := s.Pay(orderID, "alice"); r.StatusCode() != http.StatusOK {
		t.Errorf("alice's payment after the forged calls: %s", saletest.Show(r))
	}
	s.SettleStores(act, 15*time.Second)
}

// TestSignatureBindsTheBody replays the signature of alice's real branch
// call with another body: 401, no second order, no other price.
func TestSignatureBindsTheBody(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	gid := contract.PurchaseGID(act, "alice")
	real := contract.OrderRequest{ActivityID: act, UserID: "alice", ProductID: 1, Price: 100, PayTimeoutSeconds: 900}
	sigs := testKey(t).MessageSignatures(gid, contract.RouteCreateOrder, mustJSON(real), contract.RoutePurchaseQuery)
	s.buyOrder(act, "alice")
	s.SettleStores(act, 15*time.Second)
	before := s.snapshot(act)
	url := s.ordersURL() + contract.RouteCreateOrder + dtmQuery(gid, "01", "action")
	for _, forged := range []contract.OrderRequest{
		{ActivityID: act, UserID: "alice", ProductID: 1, Price: 1, PayTimeoutSeconds: 900},
		{ActivityID: act, UserID: "alice", ProductID: 1, Price: 100, PayTimeoutSeconds: 999999},
	} {
		if code, e := s.Raw("POST", url, mustJSON(forged), signature(sigs)); code != http.StatusUnauthorized {
			t.Errorf("replayed signature with body %+v: %d %+v", forged, code, e)
		}
	}
	// The same signature on another gid's call (bob's purchase).
	bob := contract.OrderRequest{ActivityID: act, UserID: "bob", ProductID: 1, Price: 100, PayTimeoutSeconds: 900}
	if code, e := s.Raw("POST", s.ordersURL()+contract.RouteCreateOrder+dtmQuery(contract.PurchaseGID(act, "bob"), "01", "action"), mustJSON(bob), signature(sigs)); code != http.StatusUnauthorized {
		t.Errorf("alice's signature on bob's branch: %d %+v", code, e)
	}
	// The very call replayed whole is a redelivery: answered, and it
	// changes nothing either (the barrier).
	if code, e := s.Raw("POST", url, mustJSON(real), signature(sigs)); code != http.StatusOK {
		t.Errorf("the real call replayed: %d %+v", code, e)
	}
	if after := s.snapshot(act); after != before {
		t.Errorf("the replays changed the sale:\nbefore %+v\nafter  %+v", before, after)
	}
	var price int64
	if err := env.db.QueryRow("SELECT price FROM orders WHERE gid = ?", gid).Scan(&price); err != nil || price != 100 {
		t.Errorf("alice's order price %d (%v), want 100", price, err)
	}
}

// TestForgeryThroughDTM submits messages to the dtm server directly, as
// anyone who reaches it could, whose branches are the internal endpoints:
// an order for a made-up user at price 1, and a unit returned for a
// made-up cancellation. dtm calls them, they refuse (401), and nothing
// changes; the messages stay pending, which reconcile shows.
func TestForgeryThroughDTM(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	s.buyOrder(act, "alice")
	s.SettleStores(act, 15*time.Second)
	before := s.snapshot(act)

	forgedOrder := contract.PurchaseGID(act, "mallory")
	msg := dtmcli.NewMsg(s.dtmURL(), forgedOrder).Add(s.ordersURL()+contract.RouteCreateOrder,
		contract.OrderRequest{ActivityID: act, UserID: "mallory", ProductID: 1, Price: 1})
	if err := msg.Submit(); err != nil {
		t.Fatalf("submit the forged order: %v", err)
	}
	forgedReturn := contract.CancelGID(act, "mallory")
	ret := dtmcli.NewMsg(s.dtmURL(), forgedReturn).Add(s.internalURL()+contract.RouteStockReturn,
		contract.ReturnRequest{ActivityID: act, UserID: "mallory"})
	if err := ret.Submit(); err != nil {
		t.Fatalf("submit the forged return: %v", err)
	}
	// dtm calls a submitted message's branch at once; give it that call
	// and a retry.
	time.Sleep(3 * time.Second)
	if after := s.snapshot(act); after != before {
		t.Errorf("the forged messages changed the sale:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, gid := range []string{forgedOrder, forgedReturn} {
		if st := s.dtmStatus(gid); st == dtmcli.StatusSucceed {
			t.Errorf("forged message %s %s: a service accepted its branch", gid, st)
		}
	}
	r, err := reconcile.Check(context.Background(), s.sources(), act)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("reconcile after the forgeries:\n%s", r)
	}
	if !strings.Contains(strings.Join(r.Pending, " "), forgedOrder) {
		t.Errorf("reconcile does not show the forged message pending: %v", r.Pending)
	}
}

// TestCancelQueryLeavesALiveOrder: the cancellation's back-check, even
// signed (as the dtm server would call it for a cancellation message of
// an order that has not expired), never cancels a live order: it answers
// that the cancellation rolled back, and the order stays payable.
func TestCancelQueryLeavesALiveOrder(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	orderID, exp := s.buyOrder(act, "alice")
	if time.Until(exp) < time.Minute {
		t.Fatalf("the order expires at %s: the test needs a live one", exp)
	}
	s.SettleStores(act, 15*time.Second)
	before := s.snapshot(act)
	gid := contract.CancelGID(act, "alice")
	sig := testKey(t).MessageSignatures(gid, contract.RouteStockReturn, mustJSON(contract.ReturnRequest{ActivityID: act, UserID: "alice"}), contract.RouteCancelQuery)
	code, _ := s.Raw("GET", s.ordersURL()+contract.RouteCancelQuery+dtmQuery(gid, "00", "msg"), nil, signature(sig))
	if code != http.StatusConflict {
		t.Errorf("signed cancel-query of a live order: %d, want 409 (rolled back)", code)
	}
	if after := s.snapshot(act); after != before {
		t.Errorf("cancel-query changed the sale:\nbefore %+v\nafter  %+v", before, after)
	}
	if st, _ := dbOrder(t, act, "alice"); st != "created" {
		t.Errorf("alice's order is %s", st)
	}
	if r := s.Pay(orderID, "alice"); r.StatusCode() != http.StatusOK {
		t.Errorf("alice pays after the cancel-query: %s", saletest.Show(r))
	}
	s.SettleStores(act, 15*time.Second)
}

// TestListeningSockets reads what each process of the services mode
// listens on: only the documented listeners, and dtm's HTTP API on
// loopback. dtm's gRPC port is the one socket on every interface: dtm
// binds it itself (dtmconf.Server.HTTPHost says why and what to do).
func TestListeningSockets(t *testing.T) {
	s := newStack(t)
	port := func(p int) string { return strconv.Itoa(p) }
	want := map[string][]string{
		"dtm":       {"127.0.0.1:" + port(s.dtmPort), "grpc"},
		"orders":    {"127.0.0.1:" + port(s.ordersPort)},
		"flashsale": {"127.0.0.1:" + port(s.shopper), "127.0.0.1:" + port(s.admin), "127.0.0.1:" + port(s.internal)},
	}
	for _, p := range []*proc.Process{s.dtm, s.orders, s.flashsale} {
		got, err := proc.Listening(p.Pid())
		if err != nil {
			t.Fatal(err)
		}
		w := want[p.Name]
		if len(got) != len(w) {
			t.Errorf("%s listens on %v, want %v", p.Name, got, w)
			continue
		}
		for _, addr := range got {
			host, _, _ := net.SplitHostPort(addr)
			if !slices.Contains(w, addr) && !(slices.Contains(w, "grpc") && (host == "::" || host == "0.0.0.0")) {
				t.Errorf("%s listens on %s: not one of %v", p.Name, addr, w)
			}
			if p.Name == "dtm" && strings.HasSuffix(addr, ":"+port(s.dtmPort)) && host != "127.0.0.1" {
				t.Errorf("dtm's HTTP API on %s, not on loopback", addr)
			}
		}
	}
}
