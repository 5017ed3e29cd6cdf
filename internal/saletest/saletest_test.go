package saletest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
)

const jwtSecret = "saletest-jwt-secret-0123456789"

// shop is a shopper listener of one activity, 7, as far as a buy goes: a
// secret for each user, one unit each.
type shop struct {
	mu     sync.Mutex
	bought map[string]bool
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, err := auth.NewVerifier(jwtSecret, time.Now).UserID(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	switch {
	case err != nil:
		answer(w, http.StatusUnauthorized, api.Error{Error: api.ErrorCodeUnauthorized, Message: "bad token"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/activities/7/secret":
		answer(w, http.StatusOK, api.Secret{Secret: "s-" + user})
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/activities/7/buy":
		var b api.BuyRequest
		json.NewDecoder(r.Body).Decode(&b)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case b.Secret != "s-"+user:
			answer(w, http.StatusForbidden, api.Error{Error: api.ErrorCodeBadSecret, Message: "bad secret"})
		case s.bought[user]:
			answer(w, http.StatusConflict, api.Error{Error: api.ErrorCodeAlreadyPurchased, Message: "bought"})
		default:
			s.bought[user] = true
			answer(w, http.StatusAccepted, api.BuyAccepted{Status: "pending", GID: "flash-sale-7-" + user})
		}
	default:
		answer(w, http.StatusNotFound, api.Error{Error: api.ErrorCodeNotFound, Message: "no such endpoint"})
	}
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func TestBuy(t *testing.T) {
	srv := httptest.NewServer(&shop{bought: map[string]bool{}})
	defer srv.Close()
	h := New(t, Config{Shopper: srv.URL, Admin: srv.URL + "/admin", JWTSecret: jwtSecret})
	for _, want := range []string{"202 ", "409 already_purchased"} {
		if code, e := h.Buy(7, "ann"); fmt.Sprintf("%d %s", code, e) != want {
			t.Errorf("ann buys: %d %s, want %s", code, e, want)
		}
	}
	if code, e := h.BuyWith(7, auth.Mint("another-secret-0123456789", "ben", time.Now(), time.Hour), nil); code != http.StatusUnauthorized || e != api.ErrorCodeUnauthorized {
		t.Errorf("a buy with another key's token: %d %s, want 401 unauthorized", code, e)
	}
}

// TestAdminToken: the admin client sends the token the harness holds at
// the time of the call.
func TestAdminToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer generated" {
			answer(w, http.StatusUnauthorized, api.Error{Error: api.ErrorCodeUnauthorized, Message: "no"})
			return
		}
		answer(w, http.StatusOK, api.Stats{Total: 3, Shards: []api.ShardStock{{Index: 0}}, DBStock: 3})
	}))
	defer srv.Close()
	h := New(t, Config{Shopper: srv.URL + "/shop", Admin: srv.URL, AdminToken: "supplied"})
	if r := Got(h.Admin.GetStatsWithResponse(t.Context(), 1)); r.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("stats with the supplied token: %s", Show(r))
	}
	h.AdminToken = "generated"
	if st := h.Stats(1); st.Total != 3 || RedisStock(st) != -1 {
		t.Fatalf("stats: %s, want a total of 3 and no Redis stock (-1)", JSON(st))
	}
}

// TestNoAnswer: a call that gets no answer reads as status 0, its error
// as the body.
func TestNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	h := New(t, Config{Shopper: srv.URL, Admin: srv.URL, JWTSecret: jwtSecret})
	if code, e := h.Buy(7, "ann"); code != 0 || e != Transport {
		t.Errorf("buy from a closed listener: %d %s, want 0 %s", code, e, Transport)
	}
	if r := h.Pay(1, "ann"); r.StatusCode() != 0 || !strings.Contains(Show(r), "refused") {
		t.Errorf("pay at a closed listener: %s, want 0 and the error", Show(r))
	}
}
