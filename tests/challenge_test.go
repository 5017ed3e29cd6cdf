package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/internal/contract"
)

// TestChallengeBeforeSecret: a sale with a challenge difficulty hands its
// start secret out only against a solved challenge of the shopper's own.
// A missing, wrong, replayed or other user's solution is refused with 403
// challenge_required and changes nothing; a sale without one asks none.
func TestChallengeBeforeSecret(t *testing.T) {
	s := newStack(t)
	const d = 10
	code, p := s.call("POST", s.adminURL()+"/admin/v1/products", adminToken, map[string]any{"name": "Phone", "price": 5000})
	if code != http.StatusCreated {
		t.Fatalf("product: %d %v", code, p)
	}
	code, a := s.call("POST", s.adminURL()+"/admin/v1/activities", adminToken, map[string]any{"name": "pow", "product_id": p["id"], "price": 100,
		"total": 5, "challenge_difficulty": d, "start_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if code != http.StatusCreated || a["challenge_difficulty"] != float64(d) {
		t.Fatalf("activity: %d %v", code, a)
	}
	act := int64(a["id"].(float64))
	base := fmt.Sprintf("%s/api/v1/activities/%d", s.shopperURL(), act)
	challenge := func(user string) gate.Challenge {
		code, body := s.call("GET", base+"/challenge", token(user), nil)
		if code != http.StatusOK || body["difficulty"] != float64(d) {
			t.Fatalf("challenge for %s: %d %v", user, code, body)
		}
		return gate.Challenge{Challenge: body["challenge"].(string), Difficulty: d}
	}
	solve := func(ch string) string {
		for i := 0; ; i++ {
			if s := strconv.Itoa(i); gate.ZeroBits(ch, s) >= d {
				return s
			}
		}
	}
	secret := func(user, ch, sol string) (int, map[string]any) {
		q := url.Values{}
		if ch != "" {
			q.Set("challenge", ch)
			q.Set("solution", sol)
		}
		return s.call("GET", base+"/secret?"+q.Encode(), token(user), nil)
	}
	alice := challenge("alice")
	good := solve(alice.Challenge)
	wrong := "w"
	for gate.ZeroBits(alice.Challenge, wrong) >= d {
		wrong += "w"
	}
	for name, try := range map[string]func() (int, map[string]any){
		"missing":       func() (int, map[string]any) { return secret("alice", "", "") },
		"wrong":         func() (int, map[string]any) { return secret("alice", alice.Challenge, wrong) },
		"other user's":  func() (int, map[string]any) { return secret("bob", alice.Challenge, good) },
		"not ours":      func() (int, map[string]any) { return secret("alice", "eyJ4Ijox.AAAA", good) },
		"over-long sol": func() (int, map[string]any) { return secret("alice", alice.Challenge, string(make([]byte, 100))) },
	} {
		if code, body := try(); code != http.StatusForbidden || body["error"] != contract.EChallengeRequired || body["message"] == "" {
			t.Errorf("%s solution: %d %v; want 403 challenge_required", name, code, body)
		}
	}
	code, body := secret("alice", alice.Challenge, good)
	if code != http.StatusOK || body["secret"] == "" {
		t.Fatalf("solved: %d %v", code, body)
	}
	sec := body["secret"]
	if code, body := secret("alice", alice.Challenge, good); code != http.StatusForbidden || body["error"] != contract.EChallengeRequired {
		t.Errorf("replayed: %d %v; want 403 challenge_required", code, body)
	}
	// Nothing was taken by the refusals; the secret buys.
	if r := s.settle(act, 5*time.Second); r.RedisStock != 5 || len(r.Messages) != 0 {
		t.Fatalf("after the refusals: %s", r)
	}
	if code, body := s.call("POST", base+"/buy", token("alice"), map[string]any{"secret": sec}); code != http.StatusAccepted {
		t.Fatalf("buy with the secret: %d %v", code, body)
	}
	// A sale without a difficulty asks no challenge.
	plain := s.newActivity(1)
	if code, _ := s.call("GET", fmt.Sprintf("%s/api/v1/activities/%d/challenge", s.shopperURL(), plain), token("alice"), nil); code != http.StatusNotFound {
		t.Errorf("challenge of a sale without one: %d; want 404", code)
	}
	if s.secret(plain, "alice") == "" {
		t.Error("no secret for a sale without a challenge")
	}
	s.settle(act, 15*time.Second)
}
