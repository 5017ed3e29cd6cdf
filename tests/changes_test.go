package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
)

// TestChangesHeardAtOnce: a change made on one instance reaches the memory
// of every other within 100 ms through Redis pub/sub (package changes),
// and through the polls alone on an instance that does not listen
// (FLASHSALE_PUBSUB=off): a user blacklisted on A is refused by B, and an
// activity cancelled on A is refused by B from its own copy (410 "the sale
// ended at ...", before any Redis or dtm work), each timed from the admin's
// answer.
func TestChangesHeardAtOnce(t *testing.T) {
	s := newStack(t)
	b := s.addFlashsale("flashsale-b")
	c := s.addFlashsale("flashsale-c", "FLASHSALE_PUBSUB=off")
	act := s.NewActivity(1000)
	// until times how long after start probe first holds, up to bound.
	until := func(bound time.Duration, probe func() bool) time.Duration {
		start := time.Now()
		for !probe() {
			if time.Since(start) > bound {
				return bound + 1
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	blocked := func(in *instance, user string) func() bool {
		return func() bool {
			code, e := in.Buy(act, user)
			return code == http.StatusForbidden && e == api.ErrorCodeBlocked
		}
	}
	ctx := t.Context()
	var heard, polled []time.Duration
	for i := range 5 {
		user := fmt.Sprintf("bl%d", i)
		if r := saletest.Got(s.Admin.AddToBlacklistWithResponse(ctx, api.BlacklistChange{Users: []string{user}})); r.StatusCode() != http.StatusOK {
			t.Fatalf("blacklist %s: %s", user, saletest.Show(r))
		}
		heard = append(heard, until(2*time.Second, blocked(b, user)))
		polled = append(polled, until(3*time.Second, blocked(c, user)))
	}
	slices.Sort(heard)
	slices.Sort(polled)
	t.Logf("blacklist change to refusal: pub/sub %v, polls alone %v", heard, polled)
	if heard[2] > 100*time.Millisecond || polled[4] > 2*time.Second {
		t.Errorf("a blacklisted user refused after (median) %s with pub/sub, at worst %s by the polls; want under 100 ms and within the 500 ms poll", heard[2], polled[4])
	}

	// A cancel, with each instance holding the activity in memory.
	for _, in := range []*instance{b, c} {
		if r := saletest.Got(in.Shopper.GetActivityWithResponse(ctx, act)); r.StatusCode() != http.StatusOK {
			t.Fatalf("activity at %s: %s", in.shopper, saletest.Show(r))
		}
	}
	endedInMemory := func(in *instance) func() bool {
		return func() bool {
			r := saletest.Got(in.Shopper.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: "x"}, s.As("late")))
			return r.StatusCode() == http.StatusGone && strings.Contains(r.JSON410.Message, "ended at")
		}
	}
	if r := saletest.Got(s.Admin.CancelActivityWithResponse(ctx, act)); r.StatusCode() != http.StatusOK {
		t.Fatalf("cancel: %s", saletest.Show(r))
	}
	dB := until(2*time.Second, endedInMemory(b))
	dC := until(4*time.Second, endedInMemory(c))
	t.Logf("cancel to refusal from memory: pub/sub %s, polls alone %s", dB, dC)
	if dB > 100*time.Millisecond || dC > 3*time.Second {
		t.Errorf("a cancelled activity refused from memory after %s with pub/sub, %s by the polls; want under 100 ms, and within the catalog's 2 s copy", dB, dC)
	}
}
