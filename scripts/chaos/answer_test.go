package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
)

// TestBuyOutcomes checks what the run records of each kind of answer to a
// buy: the status and the error code, the status alone when the body is not
// what the document says, the pause a 429 asks for, and no answer at all.
func TestBuyOutcomes(t *testing.T) {
	mux := http.NewServeMux()
	answer := func(act int, status int, header http.Header, body string) {
		mux.HandleFunc(fmt.Sprintf("POST /api/v1/activities/%d/buy", act), func(w http.ResponseWriter, r *http.Request) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		})
	}
	answer(1, http.StatusAccepted, nil, `{"status":"pending","gid":"flash-sale-1-u"}`)
	answer(2, http.StatusConflict, nil, `{"error":"sold_out","message":"sold out"}`)
	answer(3, http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}, `{"error":"rate_limited","message":"later"}`)
	answer(4, http.StatusServiceUnavailable, nil, `not json`)
	answer(5, http.StatusBadGateway, nil, `{"error":"unavailable","message":"from a proxy"}`)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := api.New(srv.URL, srv.Client())
	s := &shop{shopAPI: [2]*api.ClientWithResponses{c, c}}
	ctx := context.Background()
	for _, tc := range []struct {
		act     int64
		outcome string
		wait    time.Duration
	}{
		{1, "202 pending", 0},
		{2, "409 sold_out", 0},
		{3, "429 rate_limited", 2 * time.Second},
		{4, "503", 0},
		{5, "502 unavailable", 0},
	} {
		a, wait := s.buy(ctx, tc.act, "tok", "secret", 0)
		if a.outcome() != tc.outcome || wait != tc.wait {
			t.Errorf("activity %d: recorded %q, pause %s; want %q, %s", tc.act, a.outcome(), wait, tc.outcome, tc.wait)
		}
	}
	srv.Close()
	if a, _ := s.buy(ctx, 1, "tok", "secret", 1); a.outcome() != "no answer (refused, reset or timed out)" {
		t.Errorf("a closed server: recorded %q", a.outcome())
	}
}

// TestAdjustmentAnswers checks what the admin records of the answers to a
// stock adjustment: the dtm status of a 200 or 202, the error code of a
// refusal, and which answers promise the change.
func TestAdjustmentAnswers(t *testing.T) {
	mux := http.NewServeMux()
	answer := func(act int, status int, body string) {
		mux.HandleFunc(fmt.Sprintf("POST /admin/v1/activities/%d/stock", act), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		})
	}
	answer(1, http.StatusOK, `{"gid":"g1","activity_id":1,"delta":5,"status":"succeed"}`)
	answer(2, http.StatusAccepted, `{"gid":"g2","activity_id":2,"delta":5,"status":"submitted"}`)
	answer(3, http.StatusConflict, `{"error":"insufficient_stock","message":"no"}`)
	answer(4, http.StatusOK, `{"gid":"g4","activity_id":4,"delta":5,"status":"prepared"}`)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := api.New(srv.URL, srv.Client())
	var log strings.Builder
	a := &admin{adminAPI: [2]*api.ClientWithResponses{c, c}, log: &log, sent: map[int64][]adjustment{}}
	for _, tc := range []struct {
		act      int64
		status   string
		ecode    string
		promised bool
	}{
		{1, "succeed", "", true},
		{2, "submitted", "", true},
		{3, "", "insufficient_stock", false},
		{4, "prepared", "", false},
	} {
		a.send(context.Background(), tc.act, adjAdd, "r1", 5, 0)
		got := a.adjustments(tc.act)
		if len(got) != 1 || got[0].status != tc.status || got[0].ecode != tc.ecode || got[0].promised() != tc.promised {
			t.Errorf("activity %d: recorded %+v; want status %q, code %q, promised %v", tc.act, got, tc.status, tc.ecode, tc.promised)
		}
	}
	if tally := a.answers.snapshot(); tally[adjAdd+": 409 insufficient_stock"] != 1 || tally[adjAdd+": 200 succeed"] != 1 {
		t.Errorf("tally %v: want one 200 succeed and one 409 insufficient_stock", tally)
	}
}
