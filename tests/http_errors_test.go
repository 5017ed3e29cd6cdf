package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestBadRequests sends every malformed or unauthorized request of the
// purchase path and checks the documented status and error code, and that
// nothing changed: Redis stock, orders and dtm messages of the activity.
func TestBadRequests(t *testing.T) {
	s := newStack(t)
	open := s.NewActivity(10)
	upcoming := s.NewActivityAt(10, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	ended := s.NewActivityAt(10, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	ctx, good := t.Context(), s.As("alice")
	// A call is one request of the table, made when its test runs.
	type call = func() (int, api.Error)
	buy := func(act int64, secret string, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: secret}, editors...))
		}
	}
	buyBytes := func(body string, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.BuyWithBodyWithResponse(ctx, open, nil, "application/json", strings.NewReader(body), editors...))
		}
	}
	// shopper sends what the typed client cannot: a malformed path.
	shopper := func(path string) call {
		return func() (int, api.Error) { return s.Raw("POST", s.shopperURL()+path, []byte("{}"), good) }
	}
	secret := func(act int64, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.GetSecretWithResponse(ctx, act, nil, editors...))
		}
	}
	order := func(act int64, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) { return saletest.ErrorOf(s.Shopper.GetOrderWithResponse(ctx, act, editors...)) }
	}
	challenge := func(act int64, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.GetChallengeWithResponse(ctx, act, editors...))
		}
	}
	newProduct := func(c *api.ClientWithResponses, body string, editors ...api.RequestEditorFn) call {
		return func() (int, api.Error) {
			return saletest.ErrorOf(c.CreateProductWithBodyWithResponse(ctx, "application/json", strings.NewReader(body), editors...))
		}
	}
	// activity creates an activity of total units, open for an hour, with
	// edit's change: the field under test.
	activity := func(total int, edit func(*api.NewActivity)) call {
		a := api.NewActivity{Name: "x", ProductID: 1, Price: 1, Total: total, StartAt: time.Now().UTC(), EndAt: time.Now().Add(time.Hour).UTC()}
		edit(&a)
		return func() (int, api.Error) { return saletest.ErrorOf(s.Admin.CreateActivityWithResponse(ctx, a)) }
	}
	branch := api.CreateOrderParams{GID: "flash-sale-1-alice", TransType: "msg", BranchID: "01", Op: "action"}
	big := "{\"name\":\"" + strings.Repeat("a", 2<<20) + "\"}"
	tests := []struct {
		name   string
		do     call
		status int
		code   api.ErrorCode
	}{
		{"NoToken", buy(open, ""), 401, api.ErrorCodeUnauthorized},
		{"ExpiredToken", buy(open, "", api.Bearer(auth.Mint(jwtSecret, "alice", time.Now().Add(-2*time.Hour), time.Hour))), 401, api.ErrorCodeUnauthorized},
		{"WrongKey", buy(open, "", api.Bearer(auth.Mint("another-secret-0123456789", "alice", time.Now(), time.Hour))), 401, api.ErrorCodeUnauthorized},
		{"AlgNone", buy(open, "", api.Bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.")), 401, api.ErrorCodeUnauthorized},
		{"UnknownActivity", buy(999999, "", good), 404, api.ErrorCodeNotFound},
		{"ActivityIDNotANumber", shopper("/api/v1/activities/abc/buy"), 404, api.ErrorCodeNotFound},
		{"ActivityIDWithBraces", shopper("/api/v1/activities/%7Bfs:1%7D/buy"), 404, api.ErrorCodeNotFound},
		{"ActivityIDNegative", buy(-1, "", good), 404, api.ErrorCodeNotFound},
		{"BeforeStart", buy(upcoming, "", good), 403, api.ErrorCodeNotStarted},
		{"AfterEnd", buy(ended, "", good), 410, api.ErrorCodeEnded},
		{"MalformedJSON", buyBytes("{\"secret\":", good), 400, api.ErrorCodeBadRequest},
		{"NoSecret", buy(open, "", good), 403, api.ErrorCodeBadSecret},
		{"EmptyBody", buyBytes("", good), 403, api.ErrorCodeBadSecret},
		{"WrongSecret", buy(open, "AAAAAAAAAAAAAAAAAAAAAA", good), 403, api.ErrorCodeBadSecret},
		{"AnotherUsersSecret", buy(open, s.Secret(open, "mallory"), good), 403, api.ErrorCodeBadSecret},
		{"SecretOfAnotherActivity", buy(open, s.Secret(s.NewActivity(1), "alice"), good), 403, api.ErrorCodeBadSecret},
		{"SecretNoToken", secret(open), 401, api.ErrorCodeUnauthorized},
		{"SecretBeforeStart", secret(upcoming, good), 403, api.ErrorCodeNotStarted},
		{"SecretAfterEnd", secret(ended, good), 410, api.ErrorCodeEnded},
		{"SecretUnknownActivity", secret(999999, good), 404, api.ErrorCodeNotFound},
		{"TenKilobyteSecret", buy(open, strings.Repeat("x", 10<<10), good), 403, api.ErrorCodeBadSecret},
		{"TenKilobyteActivityID", shopper("/api/v1/activities/" + strings.Repeat("9", 10<<10) + "/buy"), 404, api.ErrorCodeNotFound},
		{"ActivityIDWithNewline", shopper("/api/v1/activities/1%0A/buy"), 404, api.ErrorCodeNotFound},
		{"ActivityIDWithStar", shopper("/api/v1/activities/*/buy"), 404, api.ErrorCodeNotFound},
		{"UserIDInBodyDiffers", buyBytes(fmt.Sprintf(`{"user_id":"mallory","secret":%q}`, s.Secret(open, "mallory")), good), 403, api.ErrorCodeBadSecret},
		{"JSONArray", buyBytes("[1,2]", good), 400, api.ErrorCodeBadRequest},
		{"TooLarge", buyBytes("{\"secret\":\""+strings.Repeat("a", 2<<20)+"\"}", good), 413, api.ErrorCodeTooLarge},
		{"OrderNoToken", order(open), 401, api.ErrorCodeUnauthorized},
		{"OrderUnknownActivity", order(999999, good), 404, api.ErrorCodeNotFound},
		{"OrderBranchOnShopperPort", func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.CreateOrderWithResponse(ctx, &branch, api.OrderRequest{ActivityID: open, UserID: "alice", ProductID: 1, Price: 1}))
		}, 404, api.ErrorCodeNotFound},
		{"BackCheckOnShopperPort", func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.QueryPurchaseWithResponse(ctx, &api.QueryPurchaseParams{GID: "flash-sale-1-alice"}))
		}, 404, api.ErrorCodeNotFound},
		{"AdjustBranchOnShopperPort", func() (int, api.Error) {
			params := api.ApplyStockChangeParams{GID: fmt.Sprintf("flash-sale-stock-%d-add5-x", open), TransType: "msg", BranchID: "01", Op: "action"}
			return saletest.ErrorOf(s.Shopper.ApplyStockChangeWithResponse(ctx, &params, api.AdjustRequest{ActivityID: open, Delta: 5}))
		}, 404, api.ErrorCodeNotFound},
		{"AdjustBackCheckOnShopperPort", func() (int, api.Error) {
			params := api.QueryStockChangeParams{GID: fmt.Sprintf("flash-sale-stock-%d-remove5-x", open)}
			return saletest.ErrorOf(s.Shopper.QueryStockChangeWithResponse(ctx, &params))
		}, 404, api.ErrorCodeNotFound},
		{"AdjustOnShopperPort", func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.AdjustStockWithResponse(ctx, open, api.StockChange{Delta: 5, RequestID: "x"}, api.Bearer(adminToken)))
		}, 404, api.ErrorCodeNotFound},
		{"CancelOnShopperPort", func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.CancelActivityWithResponse(ctx, open, api.Bearer(adminToken)))
		}, 404, api.ErrorCodeNotFound},
		{"AdminOnShopperPort", newProduct(s.Shopper, "{}", api.Bearer(adminToken)), 404, api.ErrorCodeNotFound},
		{"AdminWithShopperToken", func() (int, api.Error) { return saletest.ErrorOf(s.Admin.GetStatsWithResponse(ctx, open, good)) }, 401, api.ErrorCodeUnauthorized},
		{"AdminNoToken", newProduct(s.Admin, "{}", saletest.NoToken), 401, api.ErrorCodeUnauthorized},
		{"ProductMissingName", newProduct(s.Admin, `{"price":10}`), 400, api.ErrorCodeBadRequest},
		{"ActivityUnknownProduct", activity(1, func(a *api.NewActivity) { a.ProductID = 999999 }), 404, api.ErrorCodeNotFound},
		{"ActivityEndBeforeStart", activity(1, func(a *api.NewActivity) { a.EndAt = time.Now().Add(-time.Hour).UTC() }), 400, api.ErrorCodeBadRequest},
		{"ActivityTooManyShards", activity(100, func(a *api.NewActivity) { a.Shards = 65 }), 400, api.ErrorCodeBadRequest},
		{"ActivityNegativeShards", activity(100, func(a *api.NewActivity) { a.Shards = -1 }), 400, api.ErrorCodeBadRequest},
		{"ActivityMoreShardsThanUnits", activity(2, func(a *api.NewActivity) { a.Shards = 3 }), 400, api.ErrorCodeBadRequest},
		{"ActivityShardsNotANumber", func() (int, api.Error) {
			body := fmt.Sprintf(`{"name":"x","product_id":1,"price":1,"total":2,"shards":"four","start_at":%q,"end_at":%q}`,
				time.Now().UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			return saletest.ErrorOf(s.Admin.CreateActivityWithBodyWithResponse(ctx, "application/json", strings.NewReader(body)))
		}, 400, api.ErrorCodeBadRequest},
		{"ActivityChallengeTooHard", activity(2, func(a *api.NewActivity) { a.ChallengeDifficulty = 25 }), 400, api.ErrorCodeBadRequest},
		{"ActivityChallengeNegative", activity(2, func(a *api.NewActivity) { a.ChallengeDifficulty = -1 }), 400, api.ErrorCodeBadRequest},
		{"ActivityFairStartTooLong", activity(2, func(a *api.NewActivity) { a.FairStartMS = 5001 }), 400, api.ErrorCodeBadRequest},
		{"ActivityFairStartNegative", activity(2, func(a *api.NewActivity) { a.FairStartMS = -1 }), 400, api.ErrorCodeBadRequest},
		{"BlacklistBadRange", func() (int, api.Error) {
			return saletest.ErrorOf(s.Admin.AddToBlacklistWithResponse(ctx, api.BlacklistChange{IPs: []string{"10.0.0.0/33"}}))
		}, 400, api.ErrorCodeBadRequest},
		{"ChallengeNoToken", challenge(open), 401, api.ErrorCodeUnauthorized},
		{"ChallengeUnknownActivity", challenge(999999, good), 404, api.ErrorCodeNotFound},
		{"StatsUnknownActivity", func() (int, api.Error) { return saletest.ErrorOf(s.Admin.GetStatsWithResponse(ctx, 999999)) }, 404, api.ErrorCodeNotFound},
		// Every listener bounds bodies to 1 MiB (internal/serve), before any handler.
		{"TooLargeAdmin", newProduct(s.Admin, big), 413, api.ErrorCodeTooLarge},
		{"TooLargeInternal", func() (int, api.Error) {
			params := api.ReturnStockParams{GID: "flash-sale-cancel-1-alice", TransType: "msg", BranchID: "01", Op: "action"}
			return saletest.ErrorOf(s.Internal.ReturnStockWithBodyWithResponse(ctx, &params, "application/json", strings.NewReader(big)))
		}, 413, api.ErrorCodeTooLarge},
		{"TooLargeOrders", func() (int, api.Error) {
			return saletest.ErrorOf(s.Orders.CreateOrderWithBodyWithResponse(ctx, &branch, "application/json", strings.NewReader(big)))
		}, 413, api.ErrorCodeTooLarge},
	}
	// The refusals of a body's field name it; no other error names one.
	fields := map[string]string{
		"ProductMissingName": "name", "ActivityEndBeforeStart": "end_at",
		"ActivityTooManyShards": "shards", "ActivityNegativeShards": "shards", "ActivityMoreShardsThanUnits": "shards",
		"ActivityChallengeTooHard": "challenge_difficulty", "ActivityChallengeNegative": "challenge_difficulty",
		"ActivityFairStartTooLong": "fair_start_ms", "ActivityFairStartNegative": "fair_start_ms",
	}
	// The table made its own activities; the requests below make none.
	var activities int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM activities").Scan(&activities); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, e := tt.do()
			if code != tt.status || e.Error != tt.code {
				t.Fatalf("%s = %d %+v, want %d %s", tt.name, code, e, tt.status, tt.code)
			}
			if e.Message == "" {
				t.Fatalf("error without a message: %+v", e)
			}
			if e.Field != fields[tt.name] {
				t.Fatalf("%s names the field %q, want %q", tt.name, e.Field, fields[tt.name])
			}
		})
	}
	// Nothing changed: no activity was created, every activity still has
	// its 10 units, no order and no purchase message.
	var after int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM activities").Scan(&after); err != nil || after != activities {
		t.Fatalf("%d activities after the bad requests, %d before (%v)", after, activities, err)
	}
	for _, act := range []int64{open, upcoming, ended} {
		r := s.SettleStores(act, 5*time.Second)
		if r.RedisStock != 10 || r.LiveOrders != 0 || len(r.Messages) != 0 {
			t.Fatalf("activity %d changed: %s", act, r)
		}
	}
}

// TestIgnoredBodyFields: a quantity, a price or another user id in the body
// change nothing; the purchase is one unit for the token's user.
func TestIgnoredBodyFields(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	body := fmt.Sprintf(`{"secret":%q,"quantity":5,"price":1,"user_id":"mallory","status":"paid"}`, s.Secret(act, "bob"))
	r := saletest.Got(s.Shopper.BuyWithBodyWithResponse(t.Context(), act, nil, "application/json", strings.NewReader(body), s.As("bob")))
	if r.StatusCode() != http.StatusAccepted || r.JSON202.GID != fmt.Sprintf("flash-sale-%d-bob", act) {
		t.Fatalf("buy = %s", saletest.Show(r))
	}
	if r := s.SettleStores(act, 10*time.Second); r.RedisStock != 9 || r.LiveOrders != 1 {
		t.Fatalf("after the buy: %s", r)
	}
	var user string
	var price int64
	if err := env.db.QueryRow("SELECT user_id, price FROM orders WHERE activity_id = ?", act).Scan(&user, &price); err != nil {
		t.Fatal(err)
	}
	if user != "bob" || price != 100 {
		t.Fatalf("order for %s at %d, want bob at the activity's price 100", user, price)
	}
}

// TestReplayedPurchase: the same buy request sent twice (same token, same
// secret) buys once.
func TestReplayedPurchase(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	body, tok := api.BuyRequest{Secret: s.Secret(act, "replayer")}, s.As("replayer")
	if r := saletest.Got(s.Shopper.BuyWithResponse(t.Context(), act, nil, body, tok)); r.StatusCode() != http.StatusAccepted {
		t.Fatalf("first: %s", saletest.Show(r))
	}
	if r := saletest.Got(s.Shopper.BuyWithResponse(t.Context(), act, nil, body, tok)); r.StatusCode() != http.StatusConflict || r.JSON409.Error != api.ErrorCodeAlreadyPurchased {
		t.Fatalf("replay: %s", saletest.Show(r))
	}
	r := s.SettleStores(act, 10*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || len(r.Messages) != 1 {
		t.Fatalf("after the replay: %s", r)
	}
}
