package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/reconcile"
)

// adjustGID is the gid of act's adjustment by delta under request id.
func adjustGID(act int64, delta int, id string) string {
	return contract.Adjustment{ActivityID: act, Delta: delta, RequestID: id}.GID()
}

// concurrently runs f(0), ..., f(n-1) at once and counts the status codes
// they return.
func concurrently(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code := f(i)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return codes
}

// burst runs n buyers named prefix0..prefixN-1 at once and counts answers
// by status code.
func burst(s *saletest.Harness, act int64, prefix string, n int) map[int]int {
	return concurrently(n, func(i int) int {
		code, _ := s.Buy(act, fmt.Sprintf("%s%d", prefix, i))
		return code
	})
}

// TestAdjustStock: an admin adds and removes units before and during a
// sale; a replayed request applies once; a removal of more than is unsold
// is refused and changes nothing; units added after the sell-out are sold
// (the sold-out flag clears). The sale ends with every unit of the final
// total sold exactly once: I1-I5 hold.
func TestAdjustStock(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(50)
	for _, tc := range []struct {
		delta int
		id    string
		total int
	}{{30, "add_a", 80}, {-10, "remove_b", 70}, {30, "add_a", 70}} {
		r := s.Adjust(act, tc.delta, tc.id)
		if r.StatusCode() != http.StatusOK || r.JSON200.Status != api.StockChangeResultStatusSucceed {
			t.Fatalf("adjust %+d (%s): %s", tc.delta, tc.id, saletest.Show(r))
		}
		// The gid as README documents it.
		dir := fmt.Sprintf("add%d", tc.delta)
		if tc.delta < 0 {
			dir = fmt.Sprintf("remove%d", -tc.delta)
		}
		if want := fmt.Sprintf("flash-sale-stock-%d-%s-%s", act, dir, tc.id); r.JSON200.GID != want {
			t.Fatalf("adjust %+d (%s): gid %v, want %s", tc.delta, tc.id, r.JSON200.GID, want)
		}
		st := s.Stats(act)
		if st.Total != tc.total || st.DBStock != tc.total || saletest.RedisStock(st) != int64(tc.total) {
			t.Fatalf("after %+d (%s): stats %s, want total, DB and Redis stock %v", tc.delta, tc.id, saletest.JSON(st), tc.total)
		}
	}
	if r := s.Adjust(act, -71, "too_many"); r.StatusCode() != http.StatusConflict || r.JSON409.Error != api.ErrorCodeInsufficientStock {
		t.Fatalf("removing 71 of 70: %s, want 409 insufficient_stock", saletest.Show(r))
	}

	// A burst of 200 buyers for 70 units, with 20 more added during it.
	var added atomic.Bool
	go func() {
		time.Sleep(50 * time.Millisecond)
		if r := s.Adjust(act, 20, "during"); r.StatusCode() == http.StatusOK || r.StatusCode() == http.StatusAccepted {
			added.Store(true)
		} else {
			t.Errorf("adding during the burst: %s", saletest.Show(r))
		}
	}()
	codes := burst(s.Harness, act, "w1_", 200)
	during := adjustGID(act, 20, "during")
	for deadline := time.Now().Add(20 * time.Second); !added.Load() || s.dtmStatus(during) != dtmcli.StatusSucceed; time.Sleep(20 * time.Millisecond) {
		if t.Failed() || time.Now().After(deadline) {
			t.Fatalf("the addition during the burst: %q", s.dtmStatus(during))
		}
	}
	// Whatever the burst left (the addition may have landed after it),
	// a second wave takes.
	more := burst(s.Harness, act, "w2_", 60)
	t.Logf("first wave %v, second wave %v", codes, more)
	if got := codes[http.StatusAccepted] + more[http.StatusAccepted]; got != 90 {
		t.Fatalf("%d purchases accepted, want 90 (50 + 30 - 10 + 20)", got)
	}
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 90 || r.Total != 90 || r.RedisStock != 0 || r.DBStock != 0 || r.Adjustments[dtmcli.StatusSucceed] != 3 {
		t.Fatalf("after the sale: %s adjustments %v", r, r.Adjustments)
	}

	// Sold out: nothing is left to remove; 3 more units sell, the sold-out
	// flag clears for them.
	if r := s.Adjust(act, -1, "after_sellout"); r.StatusCode() != http.StatusConflict {
		t.Fatalf("removing after the sell-out: %s, want 409", saletest.Show(r))
	}
	if r := s.Adjust(act, 3, "restock"); r.StatusCode() != http.StatusOK {
		t.Fatalf("adding after the sell-out: %s", saletest.Show(r))
	}
	sold := 0
	for i := 0; sold < 3 && i < 100; i++ {
		if code, _ := s.Buy(act, fmt.Sprintf("late%d", i)); code == http.StatusAccepted {
			sold++
		} else {
			time.Sleep(20 * time.Millisecond) // the flag clears within one 50 ms poll
		}
	}
	if sold != 3 {
		t.Fatalf("%d of the 3 added units sold", sold)
	}
	r = s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 93 || r.Total != 93 || r.RedisStock != 0 {
		t.Fatalf("after the restock: %s", r)
	}

	// The audit trail: each applied adjustment once, in order; the refused
	// ones are not in it.
	list := saletest.Got(s.Admin.ListStockChangesWithResponse(t.Context(), act))
	if list.StatusCode() != http.StatusOK {
		t.Fatalf("adjustments listed: %s", saletest.Show(list))
	}
	var got []string
	for _, a := range list.JSON200.Adjustments {
		got = append(got, fmt.Sprintf("%s %d", a.RequestID, a.Delta))
	}
	if want := "[add_a 30 remove_b -10 during 20 restock 3]"; fmt.Sprint(got) != want {
		t.Fatalf("adjustments listed: %v, want %s", got, want)
	}
}

// TestAdjustStockBadInput: each bad request gets its documented 4xx with a
// JSON error and changes nothing.
func TestAdjustStockBadInput(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	ctx, alice := t.Context(), s.As("alice")
	// adjust and adjustBytes ask for a change of act (or another
	// activity) through the admin listener's client.
	adjust := func(id int64, c api.StockChange, editors ...api.RequestEditorFn) func() (int, api.Error) {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Admin.AdjustStockWithResponse(ctx, id, c, editors...))
		}
	}
	adjustBytes := func(body string) func() (int, api.Error) {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Admin.AdjustStockWithBodyWithResponse(ctx, act, "application/json", strings.NewReader(body)))
		}
	}
	cancel := func(id int64, editors ...api.RequestEditorFn) func() (int, api.Error) {
		return func() (int, api.Error) {
			return saletest.ErrorOf(s.Admin.CancelActivityWithResponse(ctx, id, editors...))
		}
	}
	one := api.StockChange{Delta: 1, RequestID: "x"}
	for _, tc := range []struct {
		name string
		do   func() (int, api.Error)
		code int
		err  api.ErrorCode
	}{
		{"no token", adjust(act, one, saletest.NoToken), 401, api.ErrorCodeUnauthorized},
		{"shopper token", adjust(act, one, alice), 401, api.ErrorCodeUnauthorized},
		{"zero delta", adjust(act, api.StockChange{Delta: 0, RequestID: "x"}), 400, api.ErrorCodeBadRequest},
		{"delta not a number", adjustBytes(`{"delta":"5","request_id":"x"}`), 400, api.ErrorCodeBadRequest},
		{"delta too large", adjust(act, api.StockChange{Delta: 20_000_000, RequestID: "x"}), 400, api.ErrorCodeBadRequest},
		{"no request id", adjustBytes(`{"delta":1}`), 400, api.ErrorCodeBadRequest},
		{"request id with -", adjust(act, api.StockChange{Delta: 1, RequestID: "a-b"}), 400, api.ErrorCodeBadRequest},
		{"request id of 10 KB", adjust(act, api.StockChange{Delta: 1, RequestID: strings.Repeat("a", 10000)}), 400, api.ErrorCodeBadRequest},
		{"malformed JSON", adjustBytes(`{"delta":`), 400, api.ErrorCodeBadRequest},
		{"2 MB body", adjustBytes(`{"delta":1,"request_id":"` + strings.Repeat("a", 2<<20) + `"}`), 413, api.ErrorCodeTooLarge},
		{"no such activity", adjust(act+1000, one), 404, api.ErrorCodeNotFound},
		{"cancel, shopper token", cancel(act, alice), 401, api.ErrorCodeUnauthorized},
		{"cancel, no such activity", cancel(act + 1000), 404, api.ErrorCodeNotFound},
		{"through the shopper port", func() (int, api.Error) {
			return saletest.ErrorOf(s.Shopper.AdjustStockWithResponse(ctx, act, one, api.Bearer(adminToken)))
		}, 404, api.ErrorCodeNotFound},
	} {
		if code, e := tc.do(); code != tc.code || e.Error != tc.err {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, code, e, tc.code, tc.err)
		}
	}
	if st := s.Stats(act); st.Total != 10 || st.DBStock != 10 || saletest.RedisStock(st) != 10 {
		t.Fatalf("stats after bad requests: %s", saletest.JSON(st))
	}
	if code, _ := s.Buy(act, "still_open"); code != http.StatusAccepted {
		t.Fatalf("buy after bad requests: %d", code)
	}
	s.SettleStores(act, 10*time.Second)
}

// TestAdjustKilledAfterLocalStep: flashsale is SIGKILLed after an
// adjustment's local step (a removal's units taken from Redis; an
// addition's units written to the DB) and before Submit. The dtm server's
// back-check, answered by the restarted flashsale, commits the message and
// its branch completes it: every store ends with the new total.
func TestAdjustKilledAfterLocalStep(t *testing.T) {
	const armed = "FLASHSALE_FAULTPOINTS=after-adjust-local:crash_"
	s := newStack(t, armed)
	act := s.NewActivity(40)
	for _, tc := range []struct {
		delta int
		id    string
		total int
	}{{-15, "crash_rm", 25}, {8, "crash_add", 33}} {
		start := time.Now()
		go s.Adjust(act, tc.delta, tc.id) // never answered: the process dies under it
		gid := adjustGID(act, tc.delta, tc.id)
		waitLine(t, s.flashsale, "FAULTPOINT after-adjust-local "+gid, 10*time.Second)
		s.restartFlashsale(armed) // armed for the next case
		for {
			st := s.Stats(act)
			if st.Total == tc.total && st.DBStock == tc.total && saletest.RedisStock(st) == int64(tc.total) {
				t.Logf("%+d settled %s after the request", tc.delta, time.Since(start).Round(100*time.Millisecond))
				break
			}
			if time.Since(start) > backCheckBound+5*time.Second {
				t.Fatalf("%+d not settled after %s: %s", tc.delta, time.Since(start), saletest.JSON(st))
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Replayed by the admin whose request died: nothing more.
		if r := s.Adjust(act, tc.delta, tc.id); r.StatusCode() != http.StatusOK || r.JSON200.Status != api.StockChangeResultStatusSucceed {
			t.Fatalf("replay of %s: %s", tc.id, saletest.Show(r))
		}
	}
	if code := burst(s.Harness, act, "b", 40)[http.StatusAccepted]; code != 33 {
		t.Fatalf("%d purchases accepted, want 33", code)
	}
	r := s.SettleStores(act, 20*time.Second)
	if r.Total != 33 || r.LiveOrders != 33 || r.Adjustments[dtmcli.StatusSucceed] != 2 {
		t.Fatalf("after the sale: %s adjustments %v", r, r.Adjustments)
	}
}

// TestCancelActivity: once the admin's cancel answers, no purchase takes a
// unit on any instance, even one whose cached copy still says open; the
// activity reads as ended; purchases made before keep their orders and the
// stores agree.
func TestCancelActivity(t *testing.T) {
	s := newStack(t)
	other := s.addFlashsale("flashsale2")
	act := s.NewActivity(20)
	for i := 0; i < 5; i++ {
		if code, e := s.Buy(act, fmt.Sprintf("early%d", i)); code != http.StatusAccepted {
			t.Fatalf("buy before the cancel: %d %s", code, e)
		}
	}
	// The other instance caches the activity as open.
	ctx := t.Context()
	if a := saletest.Got(other.Shopper.GetActivityWithResponse(ctx, act)); a.StatusCode() != http.StatusOK {
		t.Fatalf("activity on the other instance: %s", saletest.Show(a))
	}
	cancelled := saletest.Got(s.Admin.CancelActivityWithResponse(ctx, act))
	if cancelled.StatusCode() != http.StatusOK || cancelled.JSON200.Status != api.ActivityStatusEnded {
		t.Fatalf("cancel: %s", saletest.Show(cancelled))
	}
	if code, e := other.Buy(act, "after_cancel"); code != http.StatusGone || e != api.ErrorCodeEnded {
		t.Fatalf("buy on the other instance right after the cancel: %d %s, want 410 ended", code, e)
	}
	if code, e := s.Buy(act, "after_cancel2"); code != http.StatusGone || e != api.ErrorCodeEnded {
		t.Fatalf("buy after the cancel: %d %s, want 410 ended", code, e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := saletest.Got(other.Shopper.GetActivityWithResponse(ctx, act))
		if a.StatusCode() == http.StatusOK && a.JSON200.Status == api.ActivityStatusEnded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other instance still shows %s", saletest.Show(a))
		}
		time.Sleep(100 * time.Millisecond)
	}
	again := saletest.Got(s.Admin.CancelActivityWithResponse(ctx, act))
	if again.StatusCode() != http.StatusOK || !again.JSON200.EndAt.Equal(cancelled.JSON200.EndAt) {
		t.Fatalf("cancel again: %s, want the same end %s", saletest.Show(again), cancelled.JSON200.EndAt)
	}
	r := s.SettleStores(act, 15*time.Second)
	if r.LiveOrders != 5 || r.RedisStock != 15 {
		t.Fatalf("after the cancel: %s", r)
	}
	if code, e := s.Buy(act, "early0"); code != http.StatusGone {
		t.Fatalf("a buyer of before the cancel buying again: %d %s, want 410", code, e)
	}
}

// TestAdjustKilledBeforeLocalStep: flashsale is SIGKILLed after Prepare and
// before an adjustment's local step. The back-check closes the barrier
// (Redis for a removal, SQL for an addition), the message fails, nothing
// changes, and the request id cannot be reused (400).
func TestAdjustKilledBeforeLocalStep(t *testing.T) {
	const armed = "FLASHSALE_FAULTPOINTS=before-adjust-local:crash_"
	s := newStack(t, armed)
	act := s.NewActivity(40)
	for _, tc := range []struct {
		delta int
		id    string
	}{{-15, "crash_rm"}, {8, "crash_add"}} {
		gid := adjustGID(act, tc.delta, tc.id)
		start := time.Now()
		go s.Adjust(act, tc.delta, tc.id)
		waitLine(t, s.flashsale, "FAULTPOINT before-adjust-local "+gid, 10*time.Second)
		s.restartFlashsale(armed)
		for st := s.dtmStatus(gid); st != dtmcli.StatusFailed; st = s.dtmStatus(gid) {
			if time.Since(start) > backCheckBound+5*time.Second {
				t.Fatalf("%s still %q after %s", gid, st, time.Since(start))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("%+d failed by the back-check %s after the request", tc.delta, time.Since(start).Round(100*time.Millisecond))
		if st := s.Stats(act); st.Total != 40 || st.DBStock != 40 || saletest.RedisStock(st) != 40 {
			t.Fatalf("after a failed %+d: %s", tc.delta, saletest.JSON(st))
		}
		if r := s.Adjust(act, tc.delta, tc.id); r.StatusCode() != http.StatusBadRequest {
			t.Fatalf("reusing the request id of a failed adjustment: %s, want 400", saletest.Show(r))
		}
	}
	r := s.SettleStores(act, 10*time.Second)
	if r.Total != 40 || r.RedisStock != 40 || r.Adjustments[dtmcli.StatusFailed] != 2 {
		t.Fatalf("after the failed adjustments: %s adjustments %v", r, r.Adjustments)
	}
}

// TestAdjustWhenStoresFail: with the dtm server down an adjustment answers
// 503 and changes nothing (a cancel, which needs no dtm, still works). With
// Redis down, an addition's SQL step commits and the message waits for
// Redis (202), a removal cannot take its units (503, failed later by the
// back-check); Redis then comes back empty, the stock is re-derived from
// the adjusted total, and the addition's late branch adds nothing more.
// flashsale hurries dtm's retry of that branch once its stores are back
// (dtmclient.HurryWhenReady, and after the re-derivation): both messages are
// final within 12 s of the restart, where dtm's own backoff would retry
// the branch 18 s after it failed.
func TestAdjustWhenStoresFail(t *testing.T) {
	bin := needBinaries(t, "redis-server")[0]
	s := newStack(t)

	act := s.NewActivity(10)
	s.dtm.Kill()
	if r := s.Adjust(act, 5, "dtm_down"); r.StatusCode() != http.StatusServiceUnavailable || r.JSON503.Error != api.ErrorCodeUnavailable {
		t.Fatalf("adjust with dtm down: %s, want 503 unavailable", saletest.Show(r))
	}
	if st := s.Stats(act); st.Total != 10 || st.DBStock != 10 || saletest.RedisStock(st) != 10 {
		t.Fatalf("after an adjustment with dtm down: %s", saletest.JSON(st))
	}
	if c := saletest.Got(s.Admin.CancelActivityWithResponse(t.Context(), act)); c.StatusCode() != http.StatusOK {
		t.Fatalf("cancel with dtm down: %s", saletest.Show(c))
	}
	startProc(t, s.dtm)

	// A flashsale instance on a Redis of its own, which the test kills.
	port := testenv.FreePort(t)
	dir := t.TempDir()
	redis := &proc.Process{Name: "redis", Path: bin, Log: filepath.Join(dir, "redis.log"),
		Args:  []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir},
		Ready: proc.Redis("127.0.0.1:" + strconv.Itoa(port))}
	startProc(t, redis)
	defer redis.Kill()
	own := s.addFlashsale("flashsale-own-redis", "REDIS_ADDR=127.0.0.1:"+strconv.Itoa(port), "REDIS_DB=0")
	act = own.NewActivity(10)
	if code, e := own.Buy(act, "before"); code != http.StatusAccepted {
		t.Fatalf("buy with Redis up: %d %s", code, e)
	}
	redis.Kill()
	if r := own.Adjust(act, -3, "redis_down_rm"); r.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("a removal with Redis down: %s, want 503", saletest.Show(r))
	}
	if r := own.Adjust(act, 5, "redis_down_add"); r.StatusCode() != http.StatusAccepted || r.JSON202.Status != api.StockChangeResultStatusSubmitted {
		t.Fatalf("an addition with Redis down: %s, want 202 submitted", saletest.Show(r))
	}
	// dtm's call of the addition's branch fails on the dead Redis (within
	// its 3 s request timeout) and is backed off 18 s.
	time.Sleep(4 * time.Second)
	add, rm := adjustGID(act, 5, "redis_down_add"), adjustGID(act, -3, "redis_down_rm")
	if st := s.dtmStatus(add); st != dtmcli.StatusSubmitted {
		t.Fatalf("the addition is %q with Redis down, want submitted", st)
	}
	startProc(t, redis) // empty: no persistence
	restarted := time.Now()
	// The services hurry only what dtm would retry more than HurryAfter
	// from now; a retry due sooner keeps dtm's schedule (by design: a
	// prepared message keeps its back-check's). The restart comes some
	// 5 s after the branch failed, its retry then due about 10.7 s later,
	// just past HurryAfter: hurried. On a loaded machine the restart can
	// come a second or more later (once 7 s), the retry is due sooner than
	// HurryAfter and keeps dtm's schedule, which the test then awaits.
	due := s.dtmNextTry(add).Sub(restarted)
	bound := 8 * time.Second
	if due < dtmclient.HurryAfter*time.Second {
		bound = due + 4*time.Second
	}

	var added, removed time.Duration
	for added == 0 || removed == 0 {
		if added == 0 && s.dtmStatus(add) == dtmcli.StatusSucceed {
			added = time.Since(restarted)
		}
		if removed == 0 && s.dtmStatus(rm) == dtmcli.StatusFailed {
			removed = time.Since(restarted)
		}
		if time.Since(restarted) > max(12*time.Second, bound+2*time.Second) {
			t.Fatalf("addition %q, removal %q %s after Redis came back", s.dtmStatus(add), s.dtmStatus(rm), time.Since(restarted).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after Redis came back: the addition succeeded in %s (its retry was due in %s), the removal failed in %s",
		added.Round(10*time.Millisecond), due.Round(10*time.Millisecond), removed.Round(10*time.Millisecond))
	if added > bound {
		t.Errorf("the addition succeeded %s after Redis came back, want within %s (hurried, not dtm's backoff, when that was due more than %d s later)", added, bound, dtmclient.HurryAfter)
	}
	// 10 + 5 units, one order: 14 in Redis, re-derived, and no more.
	if st := own.Stats(act); st.Total != 15 || st.DBStock != 14 || saletest.RedisStock(st) != 14 {
		t.Fatalf("after Redis came back: %s", saletest.JSON(st))
	}
}

// TestAdjustConcurrent: ten copies of one request at once apply once; ten
// removals of 3 units at once from 20 unsold apply six times, all or
// nothing each, and the rest are refused with 409.
func TestAdjustConcurrent(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(13)
	copies := concurrently(10, func(int) int { return s.Adjust(act, 7, "same_request").StatusCode() })
	if copies[http.StatusServiceUnavailable] > 0 || copies[http.StatusBadRequest] > 0 || copies[http.StatusConflict] > 0 {
		t.Fatalf("ten copies of one addition: %v", copies)
	}
	removals := concurrently(10, func(i int) int { return s.Adjust(act, -3, fmt.Sprintf("rm%d", i)).StatusCode() })
	if removals[http.StatusOK]+removals[http.StatusAccepted] != 6 || removals[http.StatusConflict] != 4 {
		t.Fatalf("ten removals of 3 from 20: %v, want 6 applied and 4 x 409", removals)
	}
	r := s.SettleStores(act, 15*time.Second)
	if r.Total != 2 || r.RedisStock != 2 || r.DBStock != 2 || r.Adjustments[dtmcli.StatusSucceed] != 7 {
		t.Fatalf("13 + 7 - 18: %s adjustments %v", r, r.Adjustments)
	}
}

// TestReconcileChecksAdjustments: reconciliation reports an adjustment
// whose record or Redis side is missing, though the totals still add up.
func TestReconcileChecksAdjustments(t *testing.T) {
	s := newStack(t)
	act := s.NewActivity(10)
	for _, id := range []string{"plus", "minus"} {
		delta := 4
		if id == "minus" {
			delta = -4
		}
		if r := s.Adjust(act, delta, id); r.StatusCode() != http.StatusOK {
			t.Fatalf("adjust %s: %s", id, saletest.Show(r))
		}
	}
	s.SettleStores(act, 10*time.Second)
	plus, minus := adjustGID(act, 4, "plus"), adjustGID(act, -4, "minus")
	if _, err := env.db.Exec("DELETE FROM stock_adjustments WHERE gid = ?", minus); err != nil {
		t.Fatal(err)
	}
	if err := env.rdb.Del(context.Background(), fmt.Sprintf("{fs:%d}:bar:%s-01-action-01", act, plus)).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := reconcile.Check(context.Background(), s.sources(), act)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range r.Violations {
		got = append(got, v.Invariant+" "+strings.Join(v.GIDs, ","))
	}
	if want := []string{"I5 " + minus, "I2 " + plus}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
}
