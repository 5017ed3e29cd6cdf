package dtmclient_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	serverdtmcli "github.com/dtm-labs/dtm/client/dtmcli"
	"github.com/dtm-labs/dtm/dtmsvr/storage"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// fakeDTM is one dtm group as the client sees it: the routes of dtm's API
// the client reads, answered from transactions kept as dtm's own store
// records (so the JSON is dtm's), and the store-epoch route.
type fakeDTM struct {
	srv *httptest.Server

	mu    sync.Mutex
	trans map[string]storage.TransGlobalStore
	// due counts the transactions resetCronTime has yet to move; hurried
	// records the timeout each call asked for.
	due     int
	hurried []string
	epoch   string
}

func newFakeDTM(t *testing.T) *fakeDTM {
	f := &fakeDTM{trans: map[string]storage.TransGlobalStore{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dtmsvr/query", f.query)
	mux.HandleFunc("GET /api/dtmsvr/all", f.all)
	mux.HandleFunc("GET /api/dtmsvr/resetCronTime", f.resetCronTime)
	mux.HandleFunc("GET "+dtmclient.StoreEpochRoute, func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		answer(w, map[string]any{"epoch": f.epoch})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// api is the group's API base, as DTM_SERVER names it.
func (f *fakeDTM) api() string { return f.srv.URL + "/api/dtmsvr" }

// add stores msg, whose back-check is queryURL, with status.
func (f *fakeDTM) add(msg *dtmcli.Msg, queryURL, status string) {
	f.addAt(msg, queryURL, status, time.Now())
}

// addAt is add of a message prepared at created.
func (f *fakeDTM) addAt(msg *dtmcli.Msg, queryURL, status string, created time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := storage.TransGlobalStore{
		Gid: msg.Gid, TransType: "msg", Status: status, QueryPrepared: queryURL,
		TransOptions: serverdtmcli.TransOptions{BranchHeaders: msg.BranchHeaders},
	}
	t.CreateTime = &created
	f.trans[msg.Gid] = t
}

// backOff makes n more transactions due for resetCronTime.
func (f *fakeDTM) backOff(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.due += n
}

// hurries returns the timeouts resetCronTime was called with.
func (f *fakeDTM) hurries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hurried)
}

// setEpoch changes the store's epoch.
func (f *fakeDTM) setEpoch(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epoch = e
}

func (f *fakeDTM) query(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var found *storage.TransGlobalStore
	if t, ok := f.trans[r.URL.Query().Get("gid")]; ok {
		found = &t
	}
	answer(w, map[string]any{"transaction": found, "branches": []any{}})
}

// all pages through the transactions in gid order, as dtm's boltdb store
// does: a full page names its last gid as the next position.
func (f *fakeDTM) all(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	gids := make([]string, 0, len(f.trans))
	for gid := range f.trans {
		if gid > q.Get("position") && (q.Get("status") == "" || f.trans[gid].Status == q.Get("status")) {
			gids = append(gids, gid)
		}
	}
	sort.Strings(gids)
	page, next := []storage.TransGlobalStore{}, ""
	for _, gid := range gids {
		page = append(page, f.trans[gid])
		if len(page) == limit {
			next = gid
			break
		}
	}
	answer(w, map[string]any{"transactions": page, "next_position": next})
}

func (f *fakeDTM) resetCronTime(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	f.hurried = append(f.hurried, r.URL.Query().Get("timeout"))
	n := min(limit, f.due)
	f.due -= n
	answer(w, map[string]any{"has_remaining": f.due > 0, "succeed_count": n})
}

func answer(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}
