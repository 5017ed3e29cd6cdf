package repair_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/repair"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// sale is an activity as the repair reads it: units held by users and
// orders of users; dtm knows the messages of known, with their status.
type sale struct {
	held, ordered []string
	known         map[string]string // user -> dtm status
}

type saleStock struct {
	flashsale.Stock
	s *sale
}

func (st saleStock) Taken(context.Context, int64) ([]string, error) { return gids(st.s.held), nil }

type saleOrders struct {
	flashsale.OrderReader
	s *sale
}

func (o saleOrders) OrderGIDs(context.Context, int64) ([]string, []string, error) {
	return gids(o.s.ordered), nil, nil
}
func (saleOrders) Ledger(context.Context, int64) (flashsale.Ledger, error) {
	return flashsale.Ledger{}, nil
}

func gids(users []string) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = contract.PurchaseGID(7, u)
	}
	return out
}

// countingDTM serves s's messages as dtm's API does, counting its
// listings and its single queries.
type countingDTM struct {
	s               *sale
	created         map[string]time.Time // user -> when prepared
	listed, queried atomic.Int64
}

func (d *countingDTM) serve(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dtmsvr/all", func(w http.ResponseWriter, _ *http.Request) {
		d.listed.Add(1)
		var trans []any
		for u, st := range d.s.known {
			trans = append(trans, map[string]any{"gid": contract.PurchaseGID(7, u), "trans_type": "msg", "status": st})
		}
		json.NewEncoder(w).Encode(map[string]any{"transactions": trans, "next_position": ""})
	})
	mux.HandleFunc("GET /api/dtmsvr/query", func(w http.ResponseWriter, r *http.Request) {
		d.queried.Add(1)
		gid := r.URL.Query().Get("gid")
		_, user, _ := contract.ParsePurchaseGID(gid)
		st, ok := d.s.known[user]
		if !ok {
			json.NewEncoder(w).Encode(map[string]any{"transaction": nil, "branches": []any{}})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"transaction": map[string]any{"gid": gid, "trans_type": "msg", "status": st, "create_time": d.created[user]},
			"branches":    []any{},
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/dtmsvr"
}

// resubmits records the purchases re-submitted.
type resubmits struct{ purchases }

func (p *resubmits) Resubmit(_ context.Context, _ flashsale.Activity, user string) error {
	p.recreated = append(p.recreated, "resubmit:"+user)
	return nil
}

// A fallback pass after a full one reads neither dtm's listing nor the
// status of a purchase whose unit is held and whose order exists; it asks
// about the purchases still in flight one by one, however many, and tells
// the oldest of them; a pass after the last full one is older than
// FullEvery, or for any other reason than the fallback, is full.
func TestFallbackPassSkipsCompletePurchases(t *testing.T) {
	s := &sale{known: map[string]string{}}
	for i := range 1000 {
		u := fmt.Sprintf("u%d", i)
		s.held, s.ordered = append(s.held, u), append(s.ordered, u)
		s.known[u] = dtmcli.StatusSucceed
	}
	prepared := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s.held = append(s.held, "flying")
	s.known["flying"] = dtmcli.StatusSubmitted
	d := &countingDTM{s: s, created: map[string]time.Time{"flying": prepared}}
	server := d.serve(t)
	p := &resubmits{}
	var told []map[string]time.Time
	r := &repair.Repairer{
		Catalog: catalog{}, Stock: saleStock{s: s}, Orders: saleOrders{s: s}, Purchases: p,
		DTM: dtmclient.ParseGroups(server), Window: time.Hour, FullEvery: time.Hour,
		Unsettled: func(oldest map[string]time.Time) { told = append(told, oldest) },
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	run := func(why string) {
		t.Helper()
		if _, err := r.Run(context.Background(), why); err != nil {
			t.Fatal(err)
		}
	}
	run("start")
	// The full pass asks about the purchase in flight alone: its age.
	if d.listed.Load() != 1 || d.queried.Load() != 1 {
		t.Fatalf("full pass: %d listings, %d queries; want 1 and 1", d.listed.Load(), d.queried.Load())
	}
	if len(told) != 1 || !told[0][server].Equal(prepared) {
		t.Fatalf("told %v; want the group's oldest message in flight prepared at %s", told, prepared)
	}

	// dtm forgets a settled purchase: nothing to repair for the promise
	// (its unit and its order are there), and a light pass does not look.
	delete(s.known, "u1")
	run(dtmclient.Fallback)
	if d.listed.Load() != 1 || d.queried.Load() != 2 {
		t.Fatalf("light pass: %d new listings, %d queries; want none and 1 more (the purchase in flight)", d.listed.Load()-1, d.queried.Load()-1)
	}

	// A purchase whose unit is held, its order lost and its message
	// forgotten: the light pass asks dtm about it and re-submits it.
	s.held = append(s.held, "lost")
	run(dtmclient.Fallback)
	if d.listed.Load() != 1 || d.queried.Load() != 4 {
		t.Fatalf("light pass: %d new listings, %d queries; want 0 and 4", d.listed.Load()-1, d.queried.Load())
	}
	if len(p.recreated) != 1 || p.recreated[0] != "resubmit:lost" {
		t.Fatalf("repairs %v; want the lost purchase re-submitted", p.recreated)
	}

	// Many purchases in flight: still asked about one by one, never by
	// reading dtm's whole store; the flying one stays the oldest.
	for i := range 300 {
		u := fmt.Sprintf("f%d", i)
		s.held = append(s.held, u)
		s.known[u] = dtmcli.StatusPrepared
		d.created[u] = prepared.Add(time.Duration(i+1) * time.Second)
	}
	q := d.queried.Load()
	run(dtmclient.Fallback)
	if d.listed.Load() != 1 || d.queried.Load()-q != 302 {
		t.Fatalf("302 purchases in flight: %d new listings, %d queries; want 0 and 302", d.listed.Load()-1, d.queried.Load()-q)
	}
	if last := told[len(told)-1]; !last[server].Equal(prepared) {
		t.Fatalf("told %v; want the oldest, prepared at %s", last, prepared)
	}

	// Everything settles: the group has nothing in flight.
	for _, u := range s.held {
		s.known[u] = dtmcli.StatusSucceed // the lost one too, re-submitted
	}
	s.ordered = append([]string(nil), s.held...)
	run(dtmclient.Fallback)
	if last := told[len(told)-1]; len(last) != 1 || !last[server].IsZero() {
		t.Fatalf("told %v; want the group with the zero time", last)
	}

	// A store's epoch changed (any other why): a full pass, which finds
	// the settled purchase dtm forgot.
	p.recreated = nil
	delete(s.known, "u1")
	run("the store of dtm group g changed")
	if d.listed.Load() != 2 || len(p.recreated) != 1 || p.recreated[0] != "resubmit:u1" {
		t.Fatalf("full pass: %d listings, repairs %v; want a 2nd listing and u1 re-submitted", d.listed.Load(), p.recreated)
	}
}
