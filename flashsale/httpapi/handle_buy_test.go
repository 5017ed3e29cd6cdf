package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// oneActivity is a catalog of one open activity.
type oneActivity struct {
	flashsale.Catalog
	a flashsale.Activity
}

func (c oneActivity) Activity(_ context.Context, id int64) (flashsale.Activity, error) {
	if id != c.a.ID {
		return flashsale.Activity{}, contract.Errorf(contract.ENotFound, "activity %d does not exist", id)
	}
	return c.a, nil
}

// anyToken takes the bearer token for the user id.
type anyToken struct{}

func (anyToken) UserID(token string) (string, error) { return token, nil }

// scriptedBuyer answers every buy with err, or with the purchase's gid.
type scriptedBuyer struct {
	Purchaser
	err   error
	calls int
}

func (b *scriptedBuyer) Buy(_ context.Context, a flashsale.Activity, user string, _ []flashsale.RateWindow) (string, error) {
	b.calls++
	if b.err != nil {
		return "", b.err
	}
	return contract.PurchaseGID(a.ID, user), nil
}

// buyStand is the buy handler on fakes of its stores.
type buyStand struct {
	h     *gin.Engine
	a     flashsale.Activity
	g     *gate.Set
	m     *metrics.Metrics
	buyer *scriptedBuyer
}

func newBuyStand(t testing.TB) *buyStand {
	t.Helper()
	now := time.Now()
	ip, err := gate.NewClientIP("")
	if err != nil {
		t.Fatal(err)
	}
	s := &buyStand{
		a: flashsale.Activity{ID: 4, Name: "a", Price: 10, Total: 100, StartAt: now.Add(-time.Minute), EndAt: now.Add(time.Hour)},
		g: &gate.Set{
			Secrets: gate.NewSecrets("secret-key"), FairStart: gate.NewFairStart(), SoldOut: gate.NewSoldOut(),
			Blacklist: gate.NewBlacklist(nil), Limiter: gate.NewRateLimiter(gate.Limits{}), Admission: gate.NewAdmission(4, 64),
			ClientIP: ip, Breaker: gate.NewBreaker(),
		},
		m:     metrics.New(),
		buyer: &scriptedBuyer{},
	}
	s.h = newEngine(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.h.POST("/api/v1/activities/:id/buy", handleBuy(anyToken{}, oneActivity{a: s.a}, s.buyer, s.g, s.m, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s
}

// buy sends user's buy of activity id with the user's start secret.
func (s *buyStand) buy(user string, id int64) *httptest.ResponseRecorder {
	body := `{"secret":"` + s.g.Secrets.For(s.a, user) + `"}`
	r := httptest.NewRequest(http.MethodPost, "/api/v1/activities/"+strconv.FormatInt(id, 10)+"/buy", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+user)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec
}

func TestBuyAnswers(t *testing.T) {
	s := newBuyStand(t)

	rec := s.buy("u1", s.a.ID)
	var ok struct{ Status, GID string }
	json.Unmarshal(rec.Body.Bytes(), &ok)
	if rec.Code != http.StatusAccepted || ok.Status != "pending" || ok.GID != contract.PurchaseGID(s.a.ID, "u1") {
		t.Fatalf("buy: %d %s", rec.Code, rec.Body)
	}
	if n := count(s.m.Buys.WithLabelValues("accepted")); n != 1 {
		t.Fatalf("accepted buys counted %v, want 1", n)
	}

	if rec := s.buy("u2", 5); rec.Code != http.StatusNotFound {
		t.Fatalf("buy of no activity: %d %s", rec.Code, rec.Body)
	}

	s.buyer.err = &flashsale.OverLimit{Wait: 1500 * time.Millisecond}
	if rec := s.buy("u3", s.a.ID); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("buy over a limit: %d %s, Retry-After %q", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if n := count(s.m.GateRejects.WithLabelValues("rate_limit")); n != 1 {
		t.Fatalf("rate_limit rejections counted %v, want 1", n)
	}

	// A buy that finds the stock short raises the sold-out flag: the next
	// one is turned away before the purchase.
	s.buyer.err = flashsale.ErrStockShort
	if rec := s.buy("u4", s.a.ID); rec.Code != http.StatusConflict {
		t.Fatalf("buy of the last unit gone: %d %s", rec.Code, rec.Body)
	}
	calls := s.buyer.calls
	if rec := s.buy("u5", s.a.ID); rec.Code != http.StatusConflict || s.buyer.calls != calls {
		t.Fatalf("buy once sold out: %d %s, purchases %d -> %d", rec.Code, rec.Body, calls, s.buyer.calls)
	}
	if n := count(s.m.GateRejects.WithLabelValues("sold_out")); n != 1 {
		t.Fatalf("sold_out rejections counted %v, want 1", n)
	}
}

// count reads a counter.
func count(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// BenchmarkBuy is the handler's own cost on an accepted buy, the stores
// aside.
func BenchmarkBuy(b *testing.B) {
	s := newBuyStand(b)
	body := `{"secret":"` + s.g.Secrets.For(s.a, "u1") + `"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/activities/4/buy", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer u1")
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("buy: %d %s", rec.Code, rec.Body)
		}
	}
}
