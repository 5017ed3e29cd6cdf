package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
)

// TestBadRequests sends every malformed or unauthorized request of the
// purchase path and checks the documented status and error code, and that
// nothing changed: Redis stock, orders and dtm messages of the activity.
func TestBadRequests(t *testing.T) {
	s := newStack(t)
	open := s.newActivity(10)
	upcoming := s.newActivityAt(10, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	ended := s.newActivityAt(10, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	good := token("alice")
	buy := func(act int64) string { return s.buyURL(act) }
	big := "{\"name\":\"" + strings.Repeat("a", 2<<20) + "\"}"
	tests := []struct {
		name, method, url, token string
		body                     any
		status                   int
		code                     string
	}{
		{"NoToken", "POST", buy(open), "", "{}", 401, "unauthorized"},
		{"ExpiredToken", "POST", buy(open), auth.Mint(jwtSecret, "alice", time.Now().Add(-2*time.Hour), time.Hour), "{}", 401, "unauthorized"},
		{"WrongKey", "POST", buy(open), auth.Mint("another-secret-0123456789", "alice", time.Now(), time.Hour), "{}", 401, "unauthorized"},
		{"AlgNone", "POST", buy(open), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.", "{}", 401, "unauthorized"},
		{"UnknownActivity", "POST", buy(999999), good, "{}", 404, "not_found"},
		{"ActivityIDNotANumber", "POST", s.shopperURL() + "/api/v1/activities/abc/buy", good, "{}", 404, "not_found"},
		{"ActivityIDWithBraces", "POST", s.shopperURL() + "/api/v1/activities/%7Bfs:1%7D/buy", good, "{}", 404, "not_found"},
		{"ActivityIDNegative", "POST", s.shopperURL() + "/api/v1/activities/-1/buy", good, "{}", 404, "not_found"},
		{"BeforeStart", "POST", buy(upcoming), good, "{}", 403, "not_started"},
		{"AfterEnd", "POST", buy(ended), good, "{}", 410, "ended"},
		{"MalformedJSON", "POST", buy(open), good, "{\"secret\":", 400, "bad_request"},
		{"NoSecret", "POST", buy(open), good, "{}", 403, "bad_secret"},
		{"EmptyBody", "POST", buy(open), good, nil, 403, "bad_secret"},
		{"WrongSecret", "POST", buy(open), good, map[string]any{"secret": "AAAAAAAAAAAAAAAAAAAAAA"}, 403, "bad_secret"},
		{"AnotherUsersSecret", "POST", buy(open), good, map[string]any{"secret": s.secret(open, "mallory")}, 403, "bad_secret"},
		{"SecretOfAnotherActivity", "POST", buy(open), good, map[string]any{"secret": s.secret(s.newActivity(1), "alice")}, 403, "bad_secret"},
		{"SecretNoToken", "GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", s.shopperURL(), open), "", nil, 401, "unauthorized"},
		{"SecretBeforeStart", "GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", s.shopperURL(), upcoming), good, nil, 403, "not_started"},
		{"SecretAfterEnd", "GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", s.shopperURL(), ended), good, nil, 410, "ended"},
		{"SecretUnknownActivity", "GET", s.shopperURL() + "/api/v1/activities/999999/secret", good, nil, 404, "not_found"},
		{"TenKilobyteSecret", "POST", buy(open), good, map[string]any{"secret": strings.Repeat("x", 10<<10)}, 403, "bad_secret"},
		{"TenKilobyteActivityID", "POST", s.shopperURL() + "/api/v1/activities/" + strings.Repeat("9", 10<<10) + "/buy", good, "{}", 404, "not_found"},
		{"ActivityIDWithNewline", "POST", s.shopperURL() + "/api/v1/activities/1%0A/buy", good, "{}", 404, "not_found"},
		{"ActivityIDWithStar", "POST", s.shopperURL() + "/api/v1/activities/*/buy", good, "{}", 404, "not_found"},
		{"UserIDInBodyDiffers", "POST", buy(open), good, map[string]any{"user_id": "mallory", "secret": s.secret(open, "mallory")}, 403, "bad_secret"},
		{"JSONArray", "POST", buy(open), good, "[1,2]", 400, "bad_request"},
		{"TooLarge", "POST", buy(open), good, "{\"secret\":\"" + strings.Repeat("a", 2<<20) + "\"}", 413, "too_large"},
		{"OrderNoToken", "GET", s.orderURL(open), "", nil, 401, "unauthorized"},
		{"OrderUnknownActivity", "GET", s.orderURL(999999), good, nil, 404, "not_found"},
		{"OrderBranchOnShopperPort", "POST", s.shopperURL() + "/internal/orders/create?gid=flash-sale-1-alice&trans_type=msg&branch_id=01&op=action", "", map[string]any{"activity_id": open, "user_id": "alice", "product_id": 1, "price": 1}, 404, "not_found"},
		{"BackCheckOnShopperPort", "GET", s.shopperURL() + "/internal/dtm/query-prepared?gid=flash-sale-1-alice", "", nil, 404, "not_found"},
		{"AdjustBranchOnShopperPort", "POST", s.shopperURL() + fmt.Sprintf("/internal/stock/adjust?gid=flash-sale-stock-%d-add5-x&trans_type=msg&branch_id=01&op=action", open), "", map[string]any{"activity_id": open, "delta": 5}, 404, "not_found"},
		{"AdjustBackCheckOnShopperPort", "GET", s.shopperURL() + fmt.Sprintf("/internal/dtm/stock-query?gid=flash-sale-stock-%d-remove5-x", open), "", nil, 404, "not_found"},
		{"AdjustOnShopperPort", "POST", s.shopperURL() + fmt.Sprintf("/admin/v1/activities/%d/stock", open), adminToken, map[string]any{"delta": 5, "request_id": "x"}, 404, "not_found"},
		{"CancelOnShopperPort", "POST", s.shopperURL() + fmt.Sprintf("/admin/v1/activities/%d/cancel", open), adminToken, nil, 404, "not_found"},
		{"AdminOnShopperPort", "POST", s.shopperURL() + "/admin/v1/products", adminToken, "{}", 404, "not_found"},
		{"AdminWithShopperToken", "GET", fmt.Sprintf("%s/admin/v1/activities/%d/stats", s.adminURL(), open), good, nil, 401, "unauthorized"},
		{"AdminNoToken", "POST", s.adminURL() + "/admin/v1/products", "", "{}", 401, "unauthorized"},
		{"ProductMissingName", "POST", s.adminURL() + "/admin/v1/products", adminToken, map[string]any{"price": 10}, 400, "bad_request"},
		{"ActivityUnknownProduct", "POST", s.adminURL() + "/admin/v1/activities", adminToken, map[string]any{
			"name": "x", "product_id": 999999, "price": 1, "total": 1,
			"start_at": time.Now().UTC().Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 404, "not_found"},
		{"ActivityEndBeforeStart", "POST", s.adminURL() + "/admin/v1/activities", adminToken, map[string]any{
			"name": "x", "product_id": 1, "price": 1, "total": 1,
			"start_at": time.Now().UTC().Format(time.RFC3339), "end_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, 400, "bad_request"},
		{"ActivityTooManyShards", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(100, "shards", 65), 400, "bad_request"},
		{"ActivityNegativeShards", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(100, "shards", -1), 400, "bad_request"},
		{"ActivityMoreShardsThanUnits", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "shards", 3), 400, "bad_request"},
		{"ActivityShardsNotANumber", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "shards", "four"), 400, "bad_request"},
		{"ActivityChallengeTooHard", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "challenge_difficulty", 25), 400, "bad_request"},
		{"ActivityChallengeNegative", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "challenge_difficulty", -1), 400, "bad_request"},
		{"ActivityFairStartTooLong", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "fair_start_ms", 5001), 400, "bad_request"},
		{"ActivityFairStartNegative", "POST", s.adminURL() + "/admin/v1/activities", adminToken, badActivity(2, "fair_start_ms", -1), 400, "bad_request"},
		{"BlacklistBadRange", "POST", s.adminURL() + "/admin/v1/blacklist", adminToken, map[string]any{"ips": []string{"10.0.0.0/33"}}, 400, "bad_request"},
		{"ChallengeNoToken", "GET", fmt.Sprintf("%s/api/v1/activities/%d/challenge", s.shopperURL(), open), "", nil, 401, "unauthorized"},
		{"ChallengeUnknownActivity", "GET", s.shopperURL() + "/api/v1/activities/999999/challenge", good, nil, 404, "not_found"},
		{"StatsUnknownActivity", "GET", s.adminURL() + "/admin/v1/activities/999999/stats", adminToken, nil, 404, "not_found"},
		// Every listener bounds bodies to 1 MiB (internal/serve), before any handler.
		{"TooLargeAdmin", "POST", s.adminURL() + "/admin/v1/products", adminToken, big, 413, "too_large"},
		{"TooLargeInternal", "POST", s.internalURL() + "/internal/stock/return?gid=flash-sale-cancel-1-alice&trans_type=msg&branch_id=01&op=action", "", big, 413, "too_large"},
		{"TooLargeOrders", "POST", s.ordersURL() + "/internal/orders/create?gid=flash-sale-1-alice&trans_type=msg&branch_id=01&op=action", "", big, 413, "too_large"},
	}
	// The table made its own activities; the requests below make none.
	var activities int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM activities").Scan(&activities); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.call(tt.method, tt.url, tt.token, tt.body)
			if code != tt.status || body["error"] != tt.code {
				t.Fatalf("%s %s = %d %v, want %d %s", tt.method, tt.name, code, body, tt.status, tt.code)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Fatalf("error without a message: %v", body)
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
		r := s.settle(act, 5*time.Second)
		if r.RedisStock != 10 || r.LiveOrders != 0 || len(r.Messages) != 0 {
			t.Fatalf("activity %d changed: %s", act, r)
		}
	}
}

// TestIgnoredBodyFields: a quantity, a price or another user id in the body
// change nothing; the purchase is one unit for the token's user.
func TestIgnoredBodyFields(t *testing.T) {
	s := newStack(t)
	act := s.newActivity(10)
	code, body := s.call("POST", s.buyURL(act), token("bob"),
		map[string]any{"secret": s.secret(act, "bob"), "quantity": 5, "price": 1, "user_id": "mallory", "status": "paid"})
	if code != http.StatusAccepted || body["gid"] != fmt.Sprintf("flash-sale-%d-bob", act) {
		t.Fatalf("buy = %d %v", code, body)
	}
	r := s.settle(act, 10*time.Second)
	if r.RedisStock != 9 || r.LiveOrders != 1 {
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
	act := s.newActivity(10)
	body := map[string]any{"secret": s.secret(act, "replayer")}
	tok := token("replayer")
	if code, b := s.call("POST", s.buyURL(act), tok, body); code != http.StatusAccepted {
		t.Fatalf("first: %d %v", code, b)
	}
	if code, b := s.call("POST", s.buyURL(act), tok, body); code != http.StatusConflict || b["error"] != "already_purchased" {
		t.Fatalf("replay: %d %v", code, b)
	}
	r := s.settle(act, 10*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || len(r.Messages) != 1 {
		t.Fatalf("after the replay: %s", r)
	}
}

// badActivity is the body of an activity of total units, open for an
// hour, with one field set to value: the field under test.
func badActivity(total int, field string, value any) map[string]any {
	return map[string]any{"name": "x", "product_id": 1, "price": 1, "total": total, field: value,
		"start_at": time.Now().UTC().Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
}
