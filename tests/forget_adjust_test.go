package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/saletest"
)

// The tests of this file make dtm's store lose a cancellation and two
// stock adjustments after their local steps committed and before their
// branches ran (the harness is forget_test.go's). Nothing in them calls a
// repair; with IT_REPAIR=off each one fails.

// waitFor polls cond every 50 ms until it holds and returns how long after
// since it did; past bound after since it fails t with what() says.
func waitFor(t *testing.T, since time.Time, bound time.Duration, cond func() bool, what func() string) time.Duration {
	t.Helper()
	for !cond() {
		if time.Since(since) > bound {
			t.Fatalf("%s after %s: %s", time.Since(since).Round(10*time.Millisecond), bound, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(since)
}

// repaired returns the gids p logged as repaired with kind, in every run
// so far, in order.
func repaired(p *proc.Process, kind string) []string {
	var gids []string
	for _, l := range p.Lines(`"msg":"repaired a message a store forgot"`) {
		var e struct{ GID, Kind string }
		if json.Unmarshal([]byte(l), &e) == nil && e.Kind == kind {
			gids = append(gids, e.GID)
		}
	}
	return gids
}

// checkRepaired fails t unless gids, the repairs of a kind a process logged
// since the loss, hold each of want exactly once, and counted (its metric
// of that kind, moved since the loss) is len(gids). When the test runs
// alone gids is want; in a run of several tests the services also repair
// what the earlier tests left in the run's database (one database for
// all, a fresh dtm store each), which is logged, not failed.
func checkRepaired(t *testing.T, gids []string, counted float64, want ...string) {
	t.Helper()
	n := map[string]int{}
	var others []string
	for _, g := range gids {
		n[g]++
	}
	for _, g := range gids {
		if !slices.Contains(want, g) {
			others = append(others, g)
		}
	}
	for _, g := range want {
		if n[g] != 1 {
			t.Errorf("%s repaired %d times, want once (repairs logged: %v)", g, n[g], gids)
		}
	}
	if counted != float64(len(gids)) {
		t.Errorf("repairs counted %v, logged %d: %v", counted, len(gids), gids)
	}
	if len(others) > 0 {
		t.Logf("also repaired, left by earlier tests of the run: %v", others)
	}
}

// dbTotal reads the activity's total from its DB stock row.
func dbTotal(t *testing.T, act int64) int {
	t.Helper()
	var n int
	if err := env.db.QueryRow("SELECT total FROM activity_stock WHERE activity_id = ?", act).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStoreForgetsCancellation: an order left unpaid is cancelled by the
// order service's canceller while flashsale is down, so the cancellation's
// branch (the unit's return to Redis) cannot run; then dtm's store loses
// the cancellation message. The order service notices the store's new
// epoch and submits the message again under its gid; once flashsale is
// back the unit returns to Redis exactly once, the message succeeds and
// reconcile is clean.
func TestStoreForgetsCancellation(t *testing.T) {
	s, store := newForgetfulStack(t)
	s.PayTimeout = payTimeout // the shortest the admin API accepts
	act := s.NewActivity(3)
	_, expires := s.buyOrder(act, "unpaid") // the purchase's message has succeeded
	store.snapshot()
	s.flashsale.Kill()

	gid := contract.CancelGID(act, "unpaid")
	waitFor(t, expires, 2*cancelBound, func() bool {
		st, _ := dbOrder(t, act, "unpaid")
		return st == "cancelled" && s.dtmStatus(gid) == dtmcli.StatusSubmitted
	}, func() string {
		st, _ := dbOrder(t, act, "unpaid")
		return fmt.Sprintf("order %s, cancellation message %q", st, s.dtmStatus(gid))
	})
	time.Sleep(time.Second) // the branch call fails at once: flashsale is not listening
	if r, d := redisStock(t, act), dbStock(t, act); r != 2 || d != 3 {
		t.Fatalf("cancelled with flashsale down: Redis stock %d, DB stock %d; want 2 and 3", r, d)
	}
	before := s.Metric(s.Orders, `orders_repairs_total{kind="cancellation_resubmitted"}`)
	logged := len(repaired(s.orders, "cancellation_resubmitted"))

	back := s.loseStore(store, gid)
	if st := s.dtmStatus(contract.PurchaseGID(act, "unpaid")); st != dtmcli.StatusSucceed {
		t.Fatalf("after the loss the purchase is %q, want succeed (it is in the snapshot)", st)
	}
	// The order service submits the message again; its branch fails while
	// flashsale is down, and the restarted flashsale hurries dtm's retry.
	took := waitFor(t, back, repairBound, func() bool { return s.dtmStatus(gid) != dtmclient.NoMessage },
		func() string { return "the cancellation message is still unknown to dtm" })
	t.Logf("cancellation re-submitted %s after dtm's store came back", took.Round(10*time.Millisecond))
	time.Sleep(time.Second) // let the re-submitted branch fail on the dead listener first
	if n := redisStock(t, act); n != 2 {
		t.Fatalf("Redis stock %d with flashsale down, want 2", n)
	}
	s.restartFlashsale()
	restarted := time.Now()
	took = waitFor(t, restarted, 8*time.Second, func() bool { return s.dtmStatus(gid) == dtmcli.StatusSucceed },
		func() string {
			return fmt.Sprintf("cancellation message %q, Redis stock %d", s.dtmStatus(gid), redisStock(t, act))
		})
	t.Logf("unit returned %s after flashsale restarted (%s after the store came back)",
		took.Round(10*time.Millisecond), time.Since(back).Round(10*time.Millisecond))

	r := s.SettleStores(act, 15*time.Second)
	time.Sleep(time.Second) // a second return would show now
	if r.LiveOrders != 0 || r.RedisStock != 3 || r.DBStock != 3 || r.Cancels[dtmcli.StatusSucceed] != 1 || r.Messages[dtmcli.StatusSucceed] != 1 ||
		redisStock(t, act) != 3 || dbStock(t, act) != 3 {
		t.Fatalf("after the repair: %s; Redis stock now %d", r, redisStock(t, act))
	}
	if st, _ := dbOrder(t, act, "unpaid"); st != "cancelled" {
		t.Fatalf("the order is %s, want cancelled", st)
	}
	// Alone, the metric moves from 0 to 1.
	checkRepaired(t, repaired(s.orders, "cancellation_resubmitted")[logged:],
		s.Metric(s.Orders, `orders_repairs_total{kind="cancellation_resubmitted"}`)-before, gid)
}

// TestStoreForgetsAdjustments: an addition of 8 units and a removal of 15
// each have their local step committed (the addition's totals in SQL, the
// removal's units taken from Redis) and their flashsale instance killed
// before Submit, so each message is prepared in dtm and its branch has not
// run; then dtm's store loses both. The restarted flashsale re-submits
// both under their gids: the added units reach Redis once, the removed
// ones leave the SQL totals once, both messages succeed, and the sale
// then sells exactly the 33 units of the new total.
//
// The removal runs on a second instance, killed the same way, so that no
// flashsale's internal listener is up to answer dtm's back-check of either
// message before the loss, however long the steps take.
func TestStoreForgetsAdjustments(t *testing.T) {
	const armed = "FLASHSALE_FAULTPOINTS=after-adjust-local:lost_"
	s, store := newForgetfulStack(t, armed)
	other := s.addFlashsale("flashsale2")
	act := s.NewActivity(40)
	store.snapshot()

	add, rm := adjustGID(act, 8, "lost_add"), adjustGID(act, -15, "lost_rm")
	// Each admin request is never answered: its process dies under it.
	go s.Adjust(act, 8, "lost_add")
	waitLine(t, s.flashsale, "FAULTPOINT after-adjust-local "+add, 10*time.Second)
	s.flashsale.Kill()
	go other.Adjust(act, -15, "lost_rm")
	waitLine(t, other.proc, "FAULTPOINT after-adjust-local "+rm, 10*time.Second)
	other.proc.Kill()
	for _, gid := range []string{add, rm} {
		if st := s.dtmStatus(gid); st != dtmcli.StatusPrepared {
			t.Fatalf("%s is %q at the fault point, want prepared", gid, st)
		}
	}
	// The local steps committed, the branches have not run.
	if tot, d, r := dbTotal(t, act), dbStock(t, act), redisStock(t, act); tot != 48 || d != 48 || r != 25 {
		t.Fatalf("before the loss: total %d, DB stock %d, Redis stock %d; want 48, 48, 25", tot, d, r)
	}

	back := s.loseStore(store, add)
	if st := s.dtmStatus(rm); st != dtmclient.NoMessage {
		t.Fatalf("after the loss dtm still knows %s (%s)", rm, st)
	}
	// Restarted without fault points, flashsale repairs at its start.
	logged := len(repaired(s.flashsale, "adjustment_resubmitted")) // by its earlier run
	s.restartFlashsale()
	took := waitFor(t, back, repairBound, func() bool {
		return s.dtmStatus(add) == dtmcli.StatusSucceed && s.dtmStatus(rm) == dtmcli.StatusSucceed &&
			dbTotal(t, act) == 33 && dbStock(t, act) == 33 && redisStock(t, act) == 33
	}, func() string {
		return fmt.Sprintf("addition %q, removal %q; total %d, DB stock %d, Redis stock %d", s.dtmStatus(add), s.dtmStatus(rm),
			dbTotal(t, act), dbStock(t, act), redisStock(t, act))
	})
	t.Logf("both adjustments applied %s after dtm's store came back without them", took.Round(10*time.Millisecond))

	r := s.SettleStores(act, 15*time.Second)
	time.Sleep(time.Second) // a second application would show now
	if r.Total != 33 || r.RedisStock != 33 || r.DBStock != 33 || r.Adjustments[dtmcli.StatusSucceed] != 2 ||
		redisStock(t, act) != 33 || dbStock(t, act) != 33 || dbTotal(t, act) != 33 {
		t.Fatalf("after the repair: %s adjustments %v; now Redis stock %d, DB stock %d", r, r.Adjustments, redisStock(t, act), dbStock(t, act))
	}
	// Alone, the restarted flashsale's metric is 2.
	checkRepaired(t, repaired(s.flashsale, "adjustment_resubmitted")[logged:],
		s.Metric(s.Admin, `flashsale_repairs_total{kind="adjustment_resubmitted"}`), add, rm)
	// The admins' requests, replayed, apply nothing more.
	for _, tc := range []struct {
		delta int
		id    string
	}{{8, "lost_add"}, {-15, "lost_rm"}} {
		if r := s.Adjust(act, tc.delta, tc.id); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.StockChangeResultStatusSucceed {
			t.Fatalf("replay of %s: %s", tc.id, saletest.Show(r))
		}
	}
	if code := burst(s.Harness, act, "b", 40)[http.StatusAccepted]; code != 33 {
		t.Fatalf("%d purchases accepted, want 33", code)
	}
	r = s.SettleStores(act, 20*time.Second)
	if r.Total != 33 || r.LiveOrders != 33 || r.RedisStock != 0 || r.DBStock != 0 || r.Adjustments[dtmcli.StatusSucceed] != 2 {
		t.Fatalf("after the sale: %s adjustments %v", r, r.Adjustments)
	}
}
