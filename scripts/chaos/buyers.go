package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
)

// tally counts answers by outcome.
type tally struct {
	mu sync.Mutex // mu guards m
	m  map[string]int
}

func (t *tally) add(k string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
}

func (t *tally) snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// shop drives shoppers against the two flashsale instances, as their
// browsers would: fetch the start secret, buy, retry a failed buy on the
// other instance after a pause, and now and then click twice at once.
type shop struct {
	st *stack
	// shopAPI and adminAPI are the clients of each instance's shopper and
	// admin listeners (the admin's to open the sales).
	shopAPI, adminAPI [2]*api.ClientWithResponses
	answers           tally
	sem               chan struct{}

	mu       sync.Mutex // mu guards accepted
	accepted map[int64][]string
}

func newShop(st *stack) *shop {
	hc := &http.Client{Timeout: 8 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: 8 * time.Second,
	}}
	s := &shop{st: st, sem: make(chan struct{}, 512), accepted: map[int64][]string{}}
	for i := range s.shopAPI {
		s.shopAPI[i] = api.New(st.shopperURL(i), hc)
		s.adminAPI[i] = api.New(st.adminURL(i), hc)
	}
	return s
}

// saleLoad shapes one sale's buyers: n shoppers, the share burst of them
// in the first half second, the rest over window, so that purchases are in
// flight for most of the sale (faults hit them, not a sold-out sale);
// double is the share who click twice at once.
type saleLoad struct {
	n      int
	burst  float64
	window time.Duration
	double float64
}

// run lets the shoppers of one sale buy, and returns when all are done.
// rng decides who arrives when, who clicks twice and which instance each
// tries first; user ids are "<prefix>u<n>".
func (s *shop) run(ctx context.Context, act int64, prefix string, load saleLoad, rng *rand.Rand) {
	type arrival struct {
		at     time.Duration
		user   string
		double bool
		first  int
	}
	arrivals := make([]arrival, load.n)
	for i := range arrivals {
		at := time.Duration(rng.Int64N(int64(500 * time.Millisecond)))
		if i >= int(load.burst*float64(load.n)) {
			at = time.Duration(rng.Int64N(int64(load.window)))
		}
		arrivals[i] = arrival{at: at, user: fmt.Sprintf("%su%05d", prefix, i), double: rng.Float64() < load.double, first: rng.IntN(2)}
	}
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].at < arrivals[j].at })
	start := time.Now()
	var wg sync.WaitGroup
	for _, a := range arrivals {
		if d := a.at - time.Since(start); d > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-time.After(d):
			}
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			s.shopper(ctx, act, a.user, a.double, a.first)
		}()
	}
	wg.Wait()
}

// shopper is one user's visit: the start secret, then up to four buy
// attempts, the next one after an answer that invites a retry (no answer,
// 429, 5xx).
func (s *shop) shopper(ctx context.Context, act int64, user string, double bool, inst int) {
	tok := auth.Mint(jwtSecret, user, time.Now(), time.Hour)
	secret := ""
	for try := 0; try < 4 && secret == ""; try++ {
		if try > 0 {
			inst = 1 - inst
			pause(ctx, 300*time.Millisecond)
		}
		secret = s.secret(ctx, act, tok, inst)
	}
	if secret == "" {
		s.answers.add("no start secret (gave up)")
		return
	}
	for try := 0; try < 4; try++ {
		if try > 0 {
			inst = 1 - inst
		}
		var ans answer
		var wait time.Duration
		if double && try == 0 {
			// Two clicks at once: both attempts share the purchase's gid.
			var wg sync.WaitGroup
			var twin answer
			wg.Add(1)
			go func() {
				defer wg.Done()
				twin, _ = s.buy(ctx, act, tok, secret, 1-inst)
				s.record(act, user, twin)
			}()
			ans, wait = s.buy(ctx, act, tok, secret, inst)
			s.record(act, user, ans)
			wg.Wait()
			if twin.code == http.StatusAccepted || twin.code == http.StatusConflict {
				ans = twin // the twin's answer is final: the shopper stops
			}
		} else {
			ans, wait = s.buy(ctx, act, tok, secret, inst)
			s.record(act, user, ans)
		}
		if ans.code != 0 && ans.code != http.StatusTooManyRequests && ans.code < 500 {
			return
		}
		if wait <= 0 {
			wait = time.Duration(300+rand.IntN(700)) * time.Millisecond
		}
		if !pause(ctx, wait) {
			return
		}
	}
}

// victim is a purchase sent to instance inst to be parked at a fault
// point: one attempt, never retried (a retry would park on the other
// instance too); its answer is not counted.
func (s *shop) victim(ctx context.Context, act int64, user string, inst int) {
	tok := auth.Mint(jwtSecret, user, time.Now(), time.Hour)
	if secret := s.secret(ctx, act, tok, inst); secret != "" {
		s.buy(ctx, act, tok, secret, inst)
	}
}

// record counts an answer and remembers a user told 202.
func (s *shop) record(act int64, user string, a answer) {
	s.answers.add(a.outcome())
	if a.code == http.StatusAccepted {
		s.mu.Lock()
		s.accepted[act] = append(s.accepted[act], user)
		s.mu.Unlock()
	}
}

// acceptedUsers returns the users told 202 in act, each once.
func (s *shop) acceptedUsers(act int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, u := range s.accepted[act] {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// secret fetches the user's start secret from instance inst ("" on any
// failure).
func (s *shop) secret(ctx context.Context, act int64, tok string, inst int) string {
	r, err := s.shopAPI[inst].GetSecretWithResponse(ctx, act, nil, api.Bearer(tok))
	if err != nil || r.JSON200 == nil {
		return ""
	}
	return r.JSON200.Secret
}

// buy posts one buy to instance inst and returns its answer and the
// Retry-After pause asked for.
func (s *shop) buy(ctx context.Context, act int64, tok, secret string, inst int) (answer, time.Duration) {
	resp, err := s.shopAPI[inst].Buy(ctx, act, nil, api.BuyRequest{Secret: secret}, api.Bearer(tok))
	a, r := answered(resp, err, api.ParseBuyResponse)
	var wait time.Duration
	if r != nil && r.Headers429 != nil && r.Headers429.RetryAfter > 0 {
		wait = time.Duration(r.Headers429.RetryAfter) * time.Second
	}
	return a, wait
}

// pause sleeps d, or less when ctx ends; it reports whether ctx is live.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
