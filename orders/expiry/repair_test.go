package expiry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/orders"
	"github.com/flashsale/flashsale/orders/expiry"
)

// cancelledStore lists its cancelled orders; the repair reads nothing else.
type cancelledStore struct {
	expiry.Store
	users []string
}

func (s *cancelledStore) Cancelled(context.Context, time.Time, int) ([]orders.Order, error) {
	out := make([]orders.Order, len(s.users))
	for i, u := range s.users {
		out[i] = orders.Order{Order: contract.Order{ActivityID: 3, UserID: u, Status: "cancelled"}}
	}
	return out, nil
}

// dtmStore serves known's cancellations as dtm's API does, counts the
// listings, the single queries and the submits, and remembers what is
// submitted.
type dtmStore struct {
	mu                         sync.Mutex
	known                      map[string]string // gid -> status
	listed, queried, submitted int
}

func (d *dtmStore) serve(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dtmsvr/all", func(w http.ResponseWriter, _ *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.listed++
		var trans []any
		for gid, st := range d.known {
			trans = append(trans, map[string]any{"gid": gid, "trans_type": "msg", "status": st})
		}
		json.NewEncoder(w).Encode(map[string]any{"transactions": trans, "next_position": ""})
	})
	mux.HandleFunc("GET /api/dtmsvr/query", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.queried++
		gid := r.URL.Query().Get("gid")
		var trans any
		if st, ok := d.known[gid]; ok {
			trans = map[string]any{"gid": gid, "trans_type": "msg", "status": st}
		}
		json.NewEncoder(w).Encode(map[string]any{"transaction": trans, "branches": []any{}})
	})
	mux.HandleFunc("POST /api/dtmsvr/submit", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Gid string `json:"gid"`
		}
		json.NewDecoder(r.Body).Decode(&m)
		d.mu.Lock()
		defer d.mu.Unlock()
		d.submitted++
		d.known[m.Gid] = dtmcli.StatusSubmitted
		json.NewEncoder(w).Encode(map[string]any{"dtm_result": dtmcli.ResultSuccess})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/dtmsvr"
}

func (d *dtmStore) counts() (int, int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.listed, d.queried, d.submitted
}

// A repair run by the fallback timer after a full one skips the
// cancellations dtm said succeeded, asks about new ones one by one (and
// re-submits one dtm does not know), however many, and a repair for any
// other reason (a store's epoch changed) is full again.
func TestFallbackRepairSkipsSettledCancellations(t *testing.T) {
	store := &cancelledStore{}
	d := &dtmStore{known: map[string]string{}}
	for i := range 500 {
		u := fmt.Sprintf("u%d", i)
		store.users = append(store.users, u)
		d.known[contract.CancelGID(3, u)] = dtmcli.StatusSucceed
	}
	key, err := contract.ParseKey(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	c := expiry.New(expiry.Config{DTMServer: d.serve(t), FlashsaleInternalURL: "http://flashsale", URL: "http://orders", Key: key},
		store, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	repair := func(why string, wantList, wantQuery, wantSubmit int) {
		t.Helper()
		l0, q0, s0 := d.counts()
		if _, err := c.Repair(context.Background(), why, nil); err != nil {
			t.Fatal(err)
		}
		l, q, s := d.counts()
		if l-l0 != wantList || q-q0 != wantQuery || s-s0 != wantSubmit {
			t.Fatalf("%s: %d listings, %d queries, %d submits; want %d, %d, %d", why, l-l0, q-q0, s-s0, wantList, wantQuery, wantSubmit)
		}
	}
	repair("start", 1, 0, 0)
	repair(dtmclient.Fallback, 0, 0, 0)

	// Three new cancellations, one of them forgotten by dtm.
	store.users = append(store.users, "n1", "n2", "lost")
	d.known[contract.CancelGID(3, "n1")] = dtmcli.StatusSucceed
	d.known[contract.CancelGID(3, "n2")] = dtmcli.StatusSubmitted
	repair(dtmclient.Fallback, 0, 3, 1)
	// n1 is settled now; n2 and the re-submitted one are asked about again.
	repair(dtmclient.Fallback, 0, 2, 0)

	for i := range 300 {
		u := fmt.Sprintf("m%d", i)
		store.users = append(store.users, u)
		d.known[contract.CancelGID(3, u)] = dtmcli.StatusSubmitted
	}
	repair(dtmclient.Fallback, 0, 302, 0) // n2, the re-submitted one and the 300 new
	repair("the store of dtm group g changed", 1, 0, 0)
}
