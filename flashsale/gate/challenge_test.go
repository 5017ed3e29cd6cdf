package gate

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// solve finds a solution of challenge at difficulty bits, as a client does.
func solve(challenge string, difficulty int) string {
	for i := 0; ; i++ {
		if s := strconv.Itoa(i); ZeroBits(challenge, s) >= difficulty {
			return s
		}
	}
}

// TestChallenges: a solved challenge is redeemed once, by its user, for
// its sale, before it expires; every other redemption is refused with
// challenge_required and burns nothing.
func TestChallenges(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	c := NewChallenges("a key of the server", rdb)
	a := flashsale.Activity{ID: 7}
	now := time.Now()
	ch := c.Issue(a, "alice", 12, now)
	if ch.Difficulty != 12 || !ch.ExpiresAt.After(now) {
		t.Fatalf("issued %+v", ch)
	}
	good := solve(ch.Challenge, 12)
	// notSolving returns a string that does not solve challenge.
	notSolving := func(challenge string) string {
		w := "x"
		for ZeroBits(challenge, w) >= 12 {
			w += "x"
		}
		return w
	}
	wrong := notSolving(ch.Challenge)
	forged := strings.Replace(ch.Challenge, ".", "x.", 1)
	other := c.Issue(a, "alice", 12, now)
	for name, try := range map[string]func() error{
		"missing":    func() error { return c.Redeem(ctx, a, "alice", ch.Challenge, "", now) },
		"wrong":      func() error { return c.Redeem(ctx, a, "alice", ch.Challenge, wrong, now) },
		"other user": func() error { return c.Redeem(ctx, a, "mallory", ch.Challenge, good, now) },
		"other sale": func() error { return c.Redeem(ctx, flashsale.Activity{ID: 8}, "alice", ch.Challenge, good, now) },
		"expired":    func() error { return c.Redeem(ctx, a, "alice", ch.Challenge, good, now.Add(ChallengeTTL+time.Second)) },
		"forged":     func() error { return c.Redeem(ctx, a, "alice", forged, good, now) },
		"another key": func() error {
			return NewChallenges("another key", rdb).Redeem(ctx, a, "alice", ch.Challenge, good, now)
		},
		"unsolved": func() error { return c.Redeem(ctx, a, "alice", other.Challenge, notSolving(other.Challenge), now) },
	} {
		if err := try(); contract.ErrorCode(err) != contract.EChallengeRequired {
			t.Errorf("%s: %v; want challenge_required", name, err)
		}
	}
	if err := c.Redeem(ctx, a, "alice", ch.Challenge, good, now); err != nil {
		t.Fatalf("the solved challenge, after the refusals: %v", err)
	}
	if err := c.Redeem(ctx, a, "alice", ch.Challenge, good, now); contract.ErrorCode(err) != contract.EChallengeRequired || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replayed: %v", err)
	}
	// The redeemed nonce is kept until the challenge would have expired.
	if ttl := mr.TTL(mr.Keys()[0]); ttl <= 0 || ttl > ChallengeTTL+2*time.Second {
		t.Errorf("redeemed nonce kept for %s", ttl)
	}
}

func TestAdmissionPressure(t *testing.T) {
	a := NewAdmission(4, 8)
	a.SetRemaining(1, 2) // bound 8
	var leave []func()
	for want, n := range []int{0, 4, 8} {
		for len(leave) < n {
			f, ok := a.Enter(1)
			if !ok {
				t.Fatal("refused under the bound")
			}
			leave = append(leave, f)
		}
		if got := a.Pressure(1); got != want {
			t.Errorf("%d in flight of 8: pressure %d, want %d", n, got, want)
		}
	}
	if NewAdmission(0, 0).Pressure(1) != 0 {
		t.Error("pressure without a bound")
	}
}
