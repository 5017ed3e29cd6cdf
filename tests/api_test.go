package tests

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/internal/contract"
)

// tour is one pass over the API with the typed client: a client per
// listener, every exchange validated against the document.
type tour struct {
	t                             *testing.T
	s                             *stack
	tr                            *apitest.Transport
	shop, admin, internal, orders *api.ClientWithResponses
	adm                           api.RequestEditorFn
	signed                        api.RequestEditorFn
}

func newTour(t *testing.T, s *stack) *tour {
	tr := apitest.NewTransport(t, s.http.Transport, s.listeners())
	hc := &http.Client{Timeout: 15 * time.Second, Transport: tr}
	client := func(base string) *api.ClientWithResponses {
		c, err := api.NewClientWithResponses(base, api.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &tour{t: t, s: s, tr: tr,
		shop: client(s.shopperURL()), admin: client(s.adminURL()), internal: client(s.internalURL()), orders: client(s.ordersURL()),
		adm: api.Bearer(adminToken), signed: api.Signed(testKey(t))}
}

// want fails the test unless the call got through with status code.
func (tu *tour) want(what string, code int, resp interface{ StatusCode() int }, err error) {
	tu.t.Helper()
	if err != nil {
		tu.t.Fatalf("%s: %v", what, err)
	}
	if got := resp.StatusCode(); got != code {
		tu.t.Fatalf("%s: %d, want %d", what, got, code)
	}
}

// TestAPITour calls every operation of the API document
// (internal/api/openapi.yaml) on a running stack with the typed client,
// each exchange validated against the document, and fails unless every
// documented operation was called: what the document says is what the
// services answer.
func TestAPITour(t *testing.T) {
	s := newStack(t)
	tu := newTour(t, s)
	tu.probes()
	act, productID := tu.setUp()
	order := tu.shopper(act)
	tu.operator(act, order)
	tu.internalCalls(act, productID)

	all, err := apitest.Operations("")
	if err != nil {
		t.Fatal(err)
	}
	seen := tu.tr.Seen()
	for _, op := range all {
		if !contains(seen, op) {
			t.Errorf("%s is documented but the tour did not call it", op)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// probes calls the probes, the metrics, the pages and the document.
func (tu *tour) probes() {
	ctx := context.Background()
	for name, c := range map[string]*api.ClientWithResponses{"shopper": tu.shop, "admin": tu.admin, "internal": tu.internal, "orders": tu.orders} {
		r, err := c.HealthzWithResponse(ctx)
		tu.want(name+" healthz", http.StatusOK, r, err)
		rr, err := c.ReadyzWithResponse(ctx)
		tu.want(name+" readyz", http.StatusOK, rr, err)
		if name != "shopper" {
			m, err := c.MetricsWithResponse(ctx)
			tu.want(name+" metrics", http.StatusOK, m, err)
		}
	}
	for name, c := range map[string]*api.ClientWithResponses{"shopper": tu.shop, "admin": tu.admin} {
		p, err := c.GetPageWithResponse(ctx)
		tu.want(name+" page", http.StatusOK, p, err)
	}
	f, err := tu.shop.GetShopFileWithResponse(ctx, "shop.js")
	tu.want("shop.js", http.StatusOK, f, err)
	sf, err := tu.admin.GetSaleFileWithResponse(ctx, "sale.js")
	tu.want("sale.js", http.StatusOK, sf, err)
	j, err := tu.admin.GetOpenAPIJSONWithResponse(ctx)
	tu.want("openapi.json", http.StatusOK, j, err)
	y, err := tu.admin.GetOpenAPIYAMLWithResponse(ctx)
	tu.want("openapi.yaml", http.StatusOK, y, err)
}

// setUp creates a product and an open activity of 10 units whose secret
// asks a proof of work.
func (tu *tour) setUp() (act, productID int64) {
	ctx := context.Background()
	p, err := tu.admin.CreateProductWithResponse(ctx, api.NewProduct{Name: "Phone", Description: "A phone.", Price: 5000}, tu.adm)
	tu.want("create product", http.StatusCreated, p, err)
	a, err := tu.admin.CreateActivityWithResponse(ctx, api.NewActivity{
		Name: "Ten phones", ProductID: p.JSON201.ID, Price: 100, Total: 10, ChallengeDifficulty: 2,
		StartAt: time.Now().Add(-time.Minute), EndAt: time.Now().Add(time.Hour), PayTimeoutSeconds: 900,
	}, tu.adm)
	tu.want("create activity", http.StatusCreated, a, err)
	if a.JSON201.Status != api.ActivityStatusOpen || a.JSON201.Product.ID != p.JSON201.ID {
		tu.t.Fatalf("created activity: %+v", a.JSON201)
	}
	return a.JSON201.ID, p.JSON201.ID
}

// shopper buys a unit for alice and pays it; bob buys one too. It returns
// alice's order.
func (tu *tour) shopper(act int64) api.Order {
	ctx := context.Background()
	tm, err := tu.shop.GetTimeWithResponse(ctx)
	tu.want("time", http.StatusOK, tm, err)
	l, err := tu.shop.ListActivitiesWithResponse(ctx)
	tu.want("activities", http.StatusOK, l, err)
	a, err := tu.shop.GetActivityWithResponse(ctx, act)
	tu.want("activity", http.StatusOK, a, err)

	for _, user := range []string{"alice", "bob"} {
		tu.buy(act, user)
	}
	o := tu.s.WaitOrder(act, "alice", api.ShopperOrderStatusCreated, 10*time.Second)
	alice := tu.s.As("alice")
	mine, err := tu.shop.GetOrderWithResponse(ctx, act, alice)
	tu.want("alice's order", http.StatusOK, mine, err)
	if mine.JSON200.Status != api.ShopperOrderStatusCreated || mine.JSON200.Order.ID != o.ID {
		tu.t.Fatalf("alice's order: %+v", mine.JSON200)
	}
	paid, err := tu.shop.PayWithResponse(ctx, mine.JSON200.Order.ID, alice)
	tu.want("pay", http.StatusOK, paid, err)
	if paid.JSON200.Status != api.OrderStatusPaid || paid.JSON200.PaidAt.IsZero() {
		tu.t.Fatalf("paid order: %+v", paid.JSON200)
	}
	return *paid.JSON200
}

// buy solves user's challenge, takes the secret and buys.
func (tu *tour) buy(act int64, user string) {
	ctx := context.Background()
	as := tu.s.As(user)
	ch, err := tu.shop.GetChallengeWithResponse(ctx, act, as)
	tu.want(user+"'s challenge", http.StatusOK, ch, err)
	solution := 0
	for gate.ZeroBits(ch.JSON200.Challenge, strconv.Itoa(solution)) < ch.JSON200.Difficulty {
		solution++
	}
	sec, err := tu.shop.GetSecretWithResponse(ctx, act, &api.GetSecretParams{Challenge: ch.JSON200.Challenge, Solution: strconv.Itoa(solution)}, as)
	tu.want(user+"'s secret", http.StatusOK, sec, err)
	b, err := tu.shop.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: sec.JSON200.Secret}, as)
	tu.want(user+"'s buy", http.StatusAccepted, b, err)
	if b.JSON202.GID != contract.PurchaseGID(act, user) {
		tu.t.Fatalf("%s's buy: %+v", user, b.JSON202)
	}
}

// operator calls the admin API on act, whose order is alice's.
func (tu *tour) operator(act int64, order api.Order) {
	ctx := context.Background()
	st, err := tu.admin.GetStatsWithResponse(ctx, act, tu.adm)
	tu.want("stats", http.StatusOK, st, err)
	adj, err := tu.admin.AdjustStockWithResponse(ctx, act, api.StockChange{Delta: 2, RequestID: "tour_add"}, tu.adm)
	if err != nil || adj.StatusCode() != http.StatusOK && adj.StatusCode() != http.StatusAccepted {
		tu.t.Fatalf("adjust stock: %v %v", err, adj)
	}
	changes, err := tu.admin.ListStockChangesWithResponse(ctx, act, tu.adm)
	tu.want("stock changes", http.StatusOK, changes, err)
	rec, err := tu.admin.GetReconcileWithResponse(ctx, &api.GetReconcileParams{Activity: act}, tu.adm)
	tu.want("reconcile", http.StatusOK, rec, err)
	live, err := tu.admin.GetLiveWithResponse(ctx, act, tu.adm)
	tu.want("live", http.StatusOK, live, err)
	pur, err := tu.admin.GetPurchaseWithResponse(ctx, &api.GetPurchaseParams{GID: order.GID}, tu.adm)
	tu.want("purchase", http.StatusOK, pur, err)
	if pur.JSON200.Order == nil || pur.JSON200.Order.ID != order.ID {
		tu.t.Fatalf("purchase %s: %+v", order.GID, pur.JSON200)
	}
	l, err := tu.admin.AdminListActivitiesWithResponse(ctx, tu.adm)
	tu.want("admin activities", http.StatusOK, l, err)

	bl, err := tu.admin.GetBlacklistWithResponse(ctx, tu.adm)
	tu.want("blacklist", http.StatusOK, bl, err)
	change := api.BlacklistChange{Users: []string{"tour_mallory"}, IPs: []string{"10.1.2.3/16"}}
	add, err := tu.admin.AddToBlacklistWithResponse(ctx, change, tu.adm)
	tu.want("blacklist add", http.StatusOK, add, err)
	if !contains(add.JSON200.IPs, "10.1.0.0/16") || !contains(add.JSON200.Users, "tour_mallory") {
		tu.t.Fatalf("blacklist after the addition: %+v", add.JSON200)
	}
	rm, err := tu.admin.RemoveFromBlacklistWithResponse(ctx, change, tu.adm)
	tu.want("blacklist remove", http.StatusOK, rm, err)

	other, err := tu.admin.CreateActivityWithResponse(ctx, api.NewActivity{
		Name: "Cancelled", ProductID: order.ProductID, Price: 100, Total: 1,
		StartAt: time.Now().Add(-time.Minute), EndAt: time.Now().Add(time.Hour),
	}, tu.adm)
	tu.want("second activity", http.StatusCreated, other, err)
	c, err := tu.admin.CancelActivityWithResponse(ctx, other.JSON201.ID, tu.adm)
	tu.want("cancel activity", http.StatusOK, c, err)
	if c.JSON200.Status != api.ActivityStatusEnded {
		tu.t.Fatalf("cancelled activity: %+v", c.JSON200)
	}
}

// internalCalls makes the signed calls the dtm server and flashsale make,
// each one a replay or one that changes nothing.
func (tu *tour) internalCalls(act, productID int64) {
	ctx := context.Background()
	alice := contract.PurchaseGID(act, "alice")
	branch := func(gid string) (string, string, string, string) { return gid, "msg", "01", "action" }

	q, err := tu.internal.QueryPurchaseWithResponse(ctx, &api.QueryPurchaseParams{GID: alice}, tu.signed)
	tu.want("purchase back-check", http.StatusOK, q, err)
	add := contract.Adjustment{ActivityID: act, Delta: 2, RequestID: "tour_add"}
	qs, err := tu.internal.QueryStockChangeWithResponse(ctx, &api.QueryStockChangeParams{GID: add.GID()}, tu.signed)
	tu.want("adjustment back-check", http.StatusOK, qs, err)
	var ap api.ApplyStockChangeParams
	ap.GID, ap.TransType, ap.BranchID, ap.Op = branch(add.GID())
	as, err := tu.internal.ApplyStockChangeWithResponse(ctx, &ap, api.AdjustRequest{ActivityID: act, Delta: 2}, tu.signed)
	tu.want("adjustment branch, replayed", http.StatusOK, as, err)
	var rp api.ReturnStockParams
	rp.GID, rp.TransType, rp.BranchID, rp.Op = branch(contract.CancelGID(act, "alice"))
	rs, err := tu.internal.ReturnStockWithResponse(ctx, &rp, api.ReturnRequest{ActivityID: act, UserID: "bob"}, tu.signed)
	tu.want("stock return naming another user", http.StatusBadRequest, rs, err)

	var cp api.CreateOrderParams
	cp.GID, cp.TransType, cp.BranchID, cp.Op = branch(alice)
	co, err := tu.orders.CreateOrderWithResponse(ctx, &cp, api.OrderRequest{
		ActivityID: act, UserID: "alice", ProductID: productID, Price: 100, PayTimeoutSeconds: 900}, tu.signed)
	tu.want("order branch, replayed", http.StatusOK, co, err)
	qc, err := tu.orders.QueryCancellationWithResponse(ctx, &api.QueryCancellationParams{GID: contract.CancelGID(act, "alice")}, tu.signed)
	tu.want("cancellation back-check of a paid order", http.StatusConflict, qc, err)
	f, err := tu.orders.FencePurchaseWithResponse(ctx, api.FenceRequest{GID: contract.PurchaseGID(act, "tour_nobody")}, tu.signed)
	tu.want("fence", http.StatusOK, f, err)
	if f.JSON200.Ordered {
		tu.t.Fatal("fence of a purchase never made: ordered")
	}
	bob := tu.s.WaitOrder(act, "bob", api.ShopperOrderStatusCreated, 10*time.Second).ID
	p, err := tu.orders.PayOrderWithResponse(ctx, bob, api.PayRequest{UserID: "bob"}, tu.signed)
	tu.want("pay, for flashsale", http.StatusOK, p, err)
}
