package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
)

// Times to pay a sale's orders, in seconds: the long one outlives the run
// (its orders stay unpaid and live), the short one, the least the API
// takes, has the order service cancel them while the storm goes on.
const (
	longPayTimeout  = 3600
	shortPayTimeout = 10
)

// openSale creates a product and an activity of units, open from now for
// an hour, with payTimeout seconds to pay, through the admin API of
// whichever instance answers (faults may be under way), and returns the
// activity id.
func (s *shop) openSale(ctx context.Context, name string, units, payTimeout int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last string
	for try := 0; ; try++ {
		inst := try % 2
		if id, err := s.createSale(ctx, inst, name, units, payTimeout); err == nil {
			return id, nil
		} else {
			last = err.Error()
		}
		if !pause(ctx, 500*time.Millisecond) {
			return 0, fmt.Errorf("open sale %s: %s", name, last)
		}
	}
}

// createSale opens the sale through the admin API of instance inst.
func (s *shop) createSale(ctx context.Context, inst int, name string, units, payTimeout int) (int64, error) {
	p, a := api.SaleNow(name, units, s.st.shards)
	p.Description, p.ImageURL = "a chaos sale", "https://example.invalid/p.png"
	a.PayTimeoutSeconds = payTimeout
	act, err := s.adminAPI[inst].OpenSale(ctx, p, a, api.Bearer(adminToken))
	if err != nil {
		return 0, fmt.Errorf("instance %d: %w", inst+1, err)
	}
	return act.ID, nil
}

// Kinds of stock adjustment the admin sends.
const (
	adjAdd      = "add"
	adjRemove   = "remove"
	adjReplay   = "replay"    // an earlier request id and delta again
	adjTwice    = "twice"     // one request sent to both instances at once
	adjTooLarge = "too-large" // a removal of more units than the sale ever had
	adjRetry    = "retry"     // the same request again after no answer or a 5xx
)

// adjustment is one stock adjustment request the admin sent, and what it
// was told.
type adjustment struct {
	kind      string
	requestID string
	delta     int
	gid       string
	inst      int    // the flashsale instance it was sent to
	code      int    // 0: no answer
	status    string // the answer's status, when it has one
	ecode     string // the answer's error code, when it has one
}

// promised reports whether the admin was told the adjustment applies: 200
// succeed (applied everywhere) or 202 (the dtm server completes it).
func (a adjustment) promised() bool {
	return a.code == http.StatusOK && a.status == dtmcli.StatusSucceed || a.code == http.StatusAccepted
}

// admin changes the units of the sales while they run, as an operator
// would: additions, removals, a replay of an earlier request, the same
// request on both instances at once, a removal of more units than the sale
// ever had, and a retry of a request that got no answer. It remembers what
// it was told; the final check (A2) reads the stores, not the answers: a
// request answered 503, or not at all, may still apply later.
type admin struct {
	// adminAPI are the clients of each instance's admin listener. They wait
	// longer than a shopper's browser: an adjustment is answered once the
	// dtm server has it, which takes up to 4 request timeouts and a 3 s
	// wait when a link is slow.
	adminAPI [2]*api.ClientWithResponses
	answers  tally
	log      io.Writer

	mu   sync.Mutex // mu guards sent
	sent map[int64][]adjustment
}

func newAdmin(st *stack, log io.Writer) *admin {
	hc := &http.Client{Timeout: 30 * time.Second}
	a := &admin{log: log, sent: map[int64][]adjustment{}}
	for i := range a.adminAPI {
		a.adminAPI[i] = api.New(st.adminURL(i), hc)
	}
	return a
}

// adjPlan is one adjustment drawn in full from the seed, so that the seed
// alone decides what is sent (the answers decide only the retries).
type adjPlan struct {
	at        time.Duration
	kind      string
	requestID string
	delta     int
	inst      int
}

// plan draws 3-5 adjustments of a sale of units over window; request ids
// are "<prefix>adj<i>".
func (a *admin) plan(rng *rand.Rand, prefix string, units int, window time.Duration) []adjPlan {
	n := 3 + rng.IntN(3)
	ats := make([]time.Duration, n)
	for i := range ats {
		ats[i] = time.Duration(rng.Int64N(int64(window)))
	}
	sort.Slice(ats, func(i, j int) bool { return ats[i] < ats[j] })
	// ceiling bounds the sale's units at any time: what it was created
	// with and every addition sent, applied or not.
	ceiling := units
	plans := make([]adjPlan, n)
	for i := range plans {
		p := adjPlan{at: ats[i], inst: rng.IntN(2), requestID: fmt.Sprintf("%sadj%d", prefix, i)}
		p.delta = 1 + rng.IntN(20)
		if rng.IntN(2) == 0 {
			p.kind, p.delta = adjRemove, -p.delta
		} else {
			p.kind = adjAdd
		}
		switch r := rng.Float64(); {
		case i > 0 && r < 0.2:
			earlier := plans[rng.IntN(i)]
			p.kind, p.requestID, p.delta = adjReplay, earlier.requestID, earlier.delta
		case r < 0.35:
			p.kind, p.delta = adjTooLarge, -(ceiling + 1 + rng.IntN(10))
		case r < 0.5:
			p.kind = adjTwice
		}
		if p.delta > 0 {
			ceiling += p.delta
		}
		plans[i] = p
	}
	return plans
}

// run sends the adjustments of one sale, drawn from rng, over window, and
// returns when all are answered.
func (a *admin) run(ctx context.Context, act int64, prefix string, units int, window time.Duration, rng *rand.Rand) {
	start := time.Now()
	for _, p := range a.plan(rng, prefix, units, window) {
		if !pause(ctx, p.at-time.Since(start)) {
			return
		}
		if p.kind != adjTwice {
			a.send(ctx, act, p.kind, p.requestID, p.delta, p.inst)
			continue
		}
		var wg sync.WaitGroup
		for inst := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.send(ctx, act, p.kind, p.requestID, p.delta, inst)
			}()
		}
		wg.Wait()
	}
}

// send posts one adjustment to instance inst and records the answer; a
// request that got no answer or a 5xx is sent again, with the same request
// id, to the other instance, up to twice.
func (a *admin) send(ctx context.Context, act int64, kind, requestID string, delta, inst int) {
	for try := 0; try < 3; try++ {
		if try > 0 {
			kind, inst = adjRetry, 1-inst
			if !pause(ctx, time.Second) {
				return
			}
		}
		resp, err := a.adminAPI[inst].AdjustStock(ctx, act, api.StockChange{Delta: delta, RequestID: requestID}, api.Bearer(adminToken))
		ans, r := answered(resp, err, api.ParseAdjustStockResponse)
		adj := adjustment{kind: kind, requestID: requestID, delta: delta, inst: inst, code: ans.code, ecode: ans.ecode,
			status: changeStatus(r), gid: contract.Adjustment{ActivityID: act, Delta: delta, RequestID: requestID}.GID()}
		a.record(act, adj)
		if ans.code != 0 && ans.code < 500 {
			return
		}
	}
}

// changeStatus returns the dtm status of a stock change that r tells (200
// or 202), "" for any other answer.
func changeStatus(r *api.AdjustStockResponse) string {
	switch {
	case r == nil:
	case r.JSON200 != nil:
		return string(r.JSON200.Status)
	case r.JSON202 != nil:
		return string(r.JSON202.Status)
	}
	return ""
}

func (a *admin) record(act int64, adj adjustment) {
	out := "no answer (refused, reset or timed out)"
	if adj.code != 0 {
		out = strconv.Itoa(adj.code)
		for _, w := range []string{adj.ecode, adj.status} {
			if w != "" {
				out += " " + w
			}
		}
	}
	a.answers.add(adj.kind + ": " + out)
	fmt.Fprintf(a.log, "chaos: %s admin: %s %+d units of activity %d on flashsale%d (%s): %s\n",
		time.Now().Format("15:04:05.000"), adj.kind, adj.delta, act, adj.inst+1, adj.requestID, out)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent[act] = append(a.sent[act], adj)
}

// adjustments returns what the admin sent to act.
func (a *admin) adjustments(act int64) []adjustment {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adjustment(nil), a.sent[act]...)
}
