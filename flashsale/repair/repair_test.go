package repair_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/repair"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// A sale as the repair reads it while purchases go on: one purchase's unit
// is taken, its order not yet committed when the repair reads the orders,
// and its message missing from dtm's listing (too new). By the time the
// repair asks dtm about it alone, its branch has run: succeeded, and the
// order committed. It is no lost order.
type catalog struct{ flashsale.Catalog }

func (catalog) Activities(context.Context) ([]flashsale.Activity, error) {
	return []flashsale.Activity{{ID: 7, EndAt: time.Now().Add(time.Hour)}}, nil
}

type stock struct{ flashsale.Stock }

func (stock) Taken(context.Context, int64) ([]string, error) {
	return []string{contract.PurchaseGID(7, "late")}, nil
}

// orders: the order of "late" is committed after OrderGIDs read them.
type orders struct{ flashsale.OrderReader }

func (orders) OrderGIDs(context.Context, int64) ([]string, []string, error) { return nil, nil, nil }
func (orders) Ledger(context.Context, int64) (flashsale.Ledger, error) {
	return flashsale.Ledger{}, nil
}
func (orders) OrderOf(_ context.Context, _ int64, user string) (contract.Order, error) {
	if user == "late" {
		return contract.Order{UserID: user, Status: "created"}, nil
	}
	return contract.Order{}, contract.Errorf(contract.ENotFound, "no order")
}

// purchases records the repairs asked for.
type purchases struct{ recreated []string }

func (p *purchases) Resubmit(context.Context, flashsale.Activity, string) error { return nil }
func (p *purchases) Compensate(context.Context, flashsale.Activity, string) (bool, error) {
	return false, nil
}
func (p *purchases) Recreate(_ context.Context, _ flashsale.Activity, user string) error {
	p.recreated = append(p.recreated, user)
	return nil
}

// dtmGroup answers the listing without the purchase and its own query
// with succeed, as dtm's API does.
func dtmGroup(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dtmsvr/all", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"transactions": []any{}, "next_position": ""})
	})
	mux.HandleFunc("GET /api/dtmsvr/query", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"transaction": map[string]any{"gid": r.URL.Query().Get("gid"), "trans_type": "msg", "status": dtmcli.StatusSucceed},
			"branches":    []any{},
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/dtmsvr"
}

func TestAnOrderCommittedDuringThePassIsNotRecreated(t *testing.T) {
	p := &purchases{}
	r := &repair.Repairer{
		Catalog: catalog{}, Stock: stock{}, Orders: orders{}, Purchases: p,
		DTM: dtmclient.ParseGroups(dtmGroup(t)), Window: time.Hour,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	done, err := r.Run(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.recreated) != 0 || len(done) != 0 {
		t.Fatalf("repairs %v, orders recreated for %v: the order was there when dtm said succeed", done, p.recreated)
	}
}
