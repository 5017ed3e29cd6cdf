package tests

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestChallengeBeforeSecret: a sale with a challenge difficulty hands its
// start secret out only against a solved challenge of the shopper's own.
// A missing, wrong, replayed or other user's solution is refused with 403
// challenge_required and changes nothing; a sale without one asks none.
func TestChallengeBeforeSecret(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	const d = 10
	p, a := api.SaleNow("pow", 5, 0)
	a.ChallengeDifficulty = d
	opened := s.Open(p, a)
	if opened.ChallengeDifficulty != d {
		t.Fatalf("activity: %s", saletest.JSON(opened))
	}
	act := opened.ID
	challenge := func(user string) gate.Challenge {
		r := saletest.Got(s.Shopper.GetChallengeWithResponse(ctx, act, s.As(user)))
		if r.StatusCode() != http.StatusOK || r.JSON200.Difficulty != d {
			t.Fatalf("challenge for %s: %s", user, saletest.Show(r))
		}
		return gate.Challenge{Challenge: r.JSON200.Challenge, Difficulty: d}
	}
	solve := func(ch string) string {
		for i := 0; ; i++ {
			if s := strconv.Itoa(i); gate.ZeroBits(ch, s) >= d {
				return s
			}
		}
	}
	secret := func(user, ch, sol string) *api.GetSecretResponse {
		var q *api.GetSecretParams
		if ch != "" {
			q = &api.GetSecretParams{Challenge: ch, Solution: sol}
		}
		return saletest.Got(s.Shopper.GetSecretWithResponse(ctx, act, q, s.As(user)))
	}
	alice := challenge("alice")
	good := solve(alice.Challenge)
	wrong := "w"
	for gate.ZeroBits(alice.Challenge, wrong) >= d {
		wrong += "w"
	}
	for name, try := range map[string]func() *api.GetSecretResponse{
		"missing":       func() *api.GetSecretResponse { return secret("alice", "", "") },
		"wrong":         func() *api.GetSecretResponse { return secret("alice", alice.Challenge, wrong) },
		"other user's":  func() *api.GetSecretResponse { return secret("bob", alice.Challenge, good) },
		"not ours":      func() *api.GetSecretResponse { return secret("alice", "eyJ4Ijox.AAAA", good) },
		"over-long sol": func() *api.GetSecretResponse { return secret("alice", alice.Challenge, string(make([]byte, 100))) },
	} {
		if r := try(); r.StatusCode() != http.StatusForbidden || r.JSON403.Error != api.ErrorCodeChallengeRequired || r.JSON403.Message == "" {
			t.Errorf("%s solution: %s; want 403 challenge_required", name, saletest.Show(r))
		}
	}
	solved := secret("alice", alice.Challenge, good)
	if solved.StatusCode() != http.StatusOK || solved.JSON200.Secret == "" {
		t.Fatalf("solved: %s", saletest.Show(solved))
	}
	sec := solved.JSON200.Secret
	if r := secret("alice", alice.Challenge, good); r.StatusCode() != http.StatusForbidden || r.JSON403.Error != api.ErrorCodeChallengeRequired {
		t.Errorf("replayed: %s; want 403 challenge_required", saletest.Show(r))
	}
	// Nothing was taken by the refusals; the secret buys.
	if r := s.SettleStores(act, 5*time.Second); r.RedisStock != 5 || len(r.Messages) != 0 {
		t.Fatalf("after the refusals: %s", r)
	}
	if r := saletest.Got(s.Shopper.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: sec}, s.As("alice"))); r.StatusCode() != http.StatusAccepted {
		t.Fatalf("buy with the secret: %s", saletest.Show(r))
	}
	// A sale without a difficulty asks no challenge.
	plain := s.NewActivity(1)
	if r := saletest.Got(s.Shopper.GetChallengeWithResponse(ctx, plain, s.As("alice"))); r.StatusCode() != http.StatusNotFound {
		t.Errorf("challenge of a sale without one: %s; want 404", saletest.Show(r))
	}
	if s.Secret(plain, "alice") == "" {
		t.Error("no secret for a sale without a challenge")
	}
	s.SettleStores(act, 15*time.Second)
}
