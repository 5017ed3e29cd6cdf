package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmgrpc/dtmgpb"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// More of what the stores can lose or an intruder can do to a purchase in
// flight, each repaired by the services themselves: nothing here calls a
// repair. Like forget_test.go, every test fails with IT_REPAIR=off, except
// TestAbortedThroughGRPC, whose live buys the buy path compensates itself
// (see its comment).
//
// A purchase is held between two of its steps by dtmProxy, a proxy the
// test puts between flashsale and the dtm server: the fault points park a
// request for good (internal/faultpoint has no release), and SIGSTOP of
// flashsale would stop its repair too and race the dtm client's timeout
// on SIGCONT; the proxy holds exactly one call of one gid, and nothing
// else, for as long as the test says.

// dtmProxy passes flashsale's calls to the dtm server through, but for the
// ones the test holds.
type dtmProxy struct {
	t      *testing.T
	srv    *httptest.Server
	target string // the dtm server, http://127.0.0.1:<port>
	mu     sync.Mutex
	holds  []*dtmHold
}

// dtmHold is one held call: the first call to the route whose body names
// gid. before holds the call before dtm gets it; otherwise dtm answers it
// and the answer is held.
type dtmHold struct {
	route, gid string
	before     bool
	held       chan struct{} // closed when the call arrives
	release    chan struct{} // closed by the test
	done       chan struct{} // closed once the call is over
	heldAt     time.Time
	gaveUp     bool   // the caller hung up before the release
	answer     string // dtm's answer: "<status> <body>"
}

// newDTMProxy starts a proxy to s's dtm server and restarts s's flashsale
// on it (env is added to flashsale's environment).
func newDTMProxy(t *testing.T, s *stack, env ...string) *dtmProxy {
	t.Helper()
	p := &dtmProxy{t: t, target: strings.TrimSuffix(s.dtmURL(), "/api/dtmsvr")}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.mu.Lock()
		for _, h := range p.holds {
			select {
			case <-h.release:
			default:
				close(h.release)
			}
		}
		p.mu.Unlock()
		p.srv.Close()
	})
	s.restartFlashsale(append([]string{"DTM_SERVER=" + p.srv.URL + "/api/dtmsvr"}, env...)...)
	return p
}

// hold arms a hold of the next call to route (for example "/submit") of
// gid.
func (p *dtmProxy) hold(route, gid string, before bool) *dtmHold {
	h := &dtmHold{route: route, gid: gid, before: before,
		held: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	p.mu.Lock()
	p.holds = append(p.holds, h)
	p.mu.Unlock()
	return h
}

// wait waits until h's call is held.
func (h *dtmHold) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(timeout):
		t.Fatalf("no %s of %s reached the proxy in %s", h.route, h.gid, timeout)
	}
}

// let releases h's call and waits until it is over; it returns how long
// the call was held and fails t when the caller hung up meanwhile (the
// buy then took another path than the one the test is about).
func (h *dtmHold) let(t *testing.T) time.Duration {
	t.Helper()
	close(h.release)
	<-h.done
	d := time.Since(h.heldAt)
	if h.gaveUp {
		t.Fatalf("flashsale gave up its %s of %s, held %s, before the release (the dtm client's timeout is 3 s): the machine is too slow for this test",
			h.route, h.gid, d.Round(time.Millisecond))
	}
	return d
}

func (p *dtmProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var h *dtmHold
	p.mu.Lock()
	for i, c := range p.holds {
		if strings.HasSuffix(r.URL.Path, c.route) && bytes.Contains(body, []byte(`"gid":"`+c.gid+`"`)) {
			h = c
			p.holds = append(p.holds[:i:i], p.holds[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	if h != nil {
		h.heldAt = time.Now()
		defer close(h.done)
		close(h.held)
		if h.before && !h.keep(r) {
			return
		}
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method,
		p.target+r.URL.Path+queryOf(r), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if h != nil {
		h.answer = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(answer)))
		if !h.before && !h.keep(r) {
			return
		}
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// keep holds r until the release; false when its caller hung up first.
func (h *dtmHold) keep(r *http.Request) bool {
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
		h.gaveUp = true
		return false
	}
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// abortThroughGRPC is the intruder: it aborts the message gid through the
// dtm server's gRPC port, as anyone who reaches that port can.
func (s *stack) abortThroughGRPC(gid string) {
	s.t.Helper()
	conn, err := grpc.Dial(fmt.Sprintf("127.0.0.1:%d", s.dtmGRPC), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dtmgpb.NewDtmClient(conn).Abort(ctx, &dtmgpb.DtmRequest{Gid: gid, TransType: "msg"}); err != nil {
		s.t.Fatalf("gRPC Abort of %s: %v", gid, err)
	}
	if st := s.dtmStatus(gid); st != dtmcli.StatusFailed {
		s.t.Fatalf("after the gRPC Abort %s is %q, want failed", gid, st)
	}
}

// barrierOf returns the Redis barrier of gid's local step in act (one
// shard).
func barrierOf(t *testing.T, act int64, gid string) string {
	t.Helper()
	v, _ := env.rdb.Get(context.Background(), contract.BarrierKey(act, 0, contract.MsgBarrier(gid))).Result()
	return v
}

// userOrders counts user's orders in act.
func userOrders(t *testing.T, act int64, user string) int {
	t.Helper()
	var n int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM orders WHERE activity_id = ? AND user_id = ?", act, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// repaired returns flashsale's log lines (all its runs) of repairs of
// kind whose gid starts with gid.
func (s *stack) repaired(gid, kind string) []string {
	var out []string
	for _, l := range s.flashsale.Lines("repaired a message a store forgot") {
		if strings.Contains(l, `"gid":"`+gid) && strings.Contains(l, `"kind":"`+kind+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// waitRepaired waits until flashsale logged a repair of kind of gid, at
// most bound after since, and returns how long after since it was.
func (s *stack) waitRepaired(gid, kind string, since time.Time, bound time.Duration) time.Duration {
	s.t.Helper()
	for len(s.repaired(gid, kind)) == 0 {
		if time.Since(since) > bound {
			s.t.Fatalf("no %s repair of %s %s after; dtm status %q", kind, gid, bound, s.dtmStatus(gid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// TestHeldPurchaseWhileRepairing: a purchase is held after its Lua step
// took the unit, its Submit on the way to dtm, while dtm's store loses the
// purchase's Prepare. The repair finds the taken unit that dtm does not
// know and submits the message itself; then the held Submit reaches dtm,
// which refuses or accepts it as a duplicate. The shopper's answer is 202,
// the user has exactly one order, and reconcile is clean: the repair and
// the late Submit of the very same message do not make two orders.
func TestHeldPurchaseWhileRepairing(t *testing.T) {
	s, store := newForgetfulStack(t)
	p := newDTMProxy(t, s)
	act := s.NewActivity(10)
	store.snapshot() // before the buy: the loss takes its Prepare
	const user = "held1"
	gid := contract.PurchaseGID(act, user)
	h := p.hold("/submit", gid, true)
	answer := make(chan [2]any, 1)
	go func() {
		code, e := s.Buy(act, user)
		answer <- [2]any{code, e}
	}()
	h.wait(t, 10*time.Second)
	if b, n := barrierOf(t, act, gid), redisStock(t, act); b != contract.BarrierTaken || n != 9 {
		t.Fatalf("with the Submit held: barrier %q, Redis stock %d, want op and 9", b, n)
	}
	if st := s.dtmStatus(gid); st != dtmcli.StatusPrepared {
		t.Fatalf("with the Submit held dtm has %s as %q, want prepared", gid, st)
	}
	back := s.loseStore(store, gid)
	// The repair's own line for this gid, not the counter: a new stack's
	// repair also resubmits the purchases of earlier tests' activities
	// (same database and Redis, another dtm store), which the counter
	// counts too.
	took := s.waitRepaired(gid, "purchase_resubmitted", back, repairBound)
	if st := s.dtmStatus(gid); st == dtmclient.NoMessage {
		t.Fatalf("the repair resubmitted %s, yet dtm does not know it", gid)
	}
	// Let the resubmitted message succeed first, so that dtm refuses the
	// late Submit (the buy then asks dtm and answers 202): within the
	// dtm client's 3 s for the held call; if the branch is slower, dtm
	// takes the late Submit of the submitted message as a duplicate.
	for s.dtmStatus(gid) != dtmcli.StatusSucceed && time.Since(h.heldAt) < 2*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	held := h.let(t)
	t.Logf("repair resubmitted %s after the store came back; the buy's Submit was held %s; dtm answered it: %s",
		took.Round(time.Millisecond), held.Round(time.Millisecond), h.answer)
	select {
	case a := <-answer:
		if a[0] != http.StatusAccepted {
			t.Fatalf("the held buy answered %v %v, want 202", a[0], a[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held buy never answered")
	}
	s.waitOrders(act, 1, back, repairBound)
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || r.DBStock != 9 || r.Messages[dtmcli.StatusSucceed] != 1 {
		t.Fatalf("after the repair and the late Submit: %s", r)
	}
	if n := userOrders(t, act, user); n != 1 {
		t.Fatalf("%s has %d orders, want 1", user, n)
	}
	if n := len(s.repaired(gid, "purchase_resubmitted")); n != 1 {
		t.Fatalf("%s resubmitted %d times, want 1", gid, n)
	}
	if n := s.Metric(s.Admin, `flashsale_repairs_total{kind="purchase_resubmitted"}`); n < 1 {
		t.Fatalf("resubmissions counted: %v, want at least 1", n)
	}
}

// TestOrdersLostFromDatabase: after 10 purchases have their orders, the
// orders database loses them, as a failover to a lagging replica does: the
// order rows, their SQL barrier rows and their DB stock decrements are
// gone, while dtm knows the 10 messages as succeeded. The repair (its
// fallback timer, FLASHSALE_REPAIR_EVERY=2s) makes each branch call again
// and each order is created again, exactly once, within the bound.
func TestOrdersLostFromDatabase(t *testing.T) {
	const n = 10
	fenv, oenv := repairEnv()
	s := newStackWith(t, stackOptions{flashsaleEnv: append(fenv, "FLASHSALE_REPAIR_EVERY=2s"), ordersEnv: oenv})
	act := s.NewActivity(20)
	for i := range n {
		if code, e := s.Buy(act, fmt.Sprintf("lost%d", i)); code != http.StatusAccepted {
			t.Fatalf("buy lost%d: %d %s", i, code, e)
		}
	}
	s.waitOrders(act, n, time.Now(), 15*time.Second)
	s.SettleStores(act, 20*time.Second)

	tx, err := env.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM orders WHERE activity_id = ?", []any{act}},
		{"DELETE FROM barrier WHERE gid LIKE ?", []any{contract.PurchaseGIDPrefix(act) + "%"}},
		{"UPDATE activity_stock SET stock = stock + ? WHERE activity_id = ?", []any{n, act}},
	} {
		if _, err := tx.Exec(q.sql, q.args...); err != nil {
			tx.Rollback()
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()

	took := s.waitOrders(act, n, lost, repairBound)
	t.Logf("%d orders created again %s after the database lost them", n, took.Round(10*time.Millisecond))
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != n || r.RedisStock != 20-n || r.DBStock != 20-n || r.Messages[dtmcli.StatusSucceed] != n {
		t.Fatalf("after the repair: %s", r)
	}
	for i := range n {
		if c := userOrders(t, act, fmt.Sprintf("lost%d", i)); c != 1 {
			t.Fatalf("lost%d has %d orders, want 1", i, c)
		}
	}
	var bars int
	if err := env.db.QueryRow("SELECT COUNT(*) FROM barrier WHERE gid LIKE ?", contract.PurchaseGIDPrefix(act)+"%").Scan(&bars); err != nil {
		t.Fatal(err)
	}
	if bars != n {
		t.Fatalf("%d barrier rows after the repair, want %d", bars, n)
	}
	if got := len(s.repaired(contract.PurchaseGIDPrefix(act), "order_recreated")); got != n {
		t.Fatalf("orders recreated logged: %d, want %d", got, n)
	}
	if got := s.Metric(s.Admin, `flashsale_repairs_total{kind="order_recreated"}`); got != n {
		t.Fatalf("orders recreated counted: %v, want %d", got, n)
	}
}

// TestAbortedThroughGRPC: an intruder who reaches dtm's gRPC port aborts
// live purchases between their Prepare and their Submit: one held after
// its Lua step took the unit (its Submit held), one held before its Lua
// step (dtm's answer to its Prepare held, so the Lua step takes the unit
// after the abort). Released, each buy's Submit is refused; the buy finds
// the message failed, fences the branch, puts the unit back and answers
// 409 attempt_used. No unit is lost, a bystander's purchase is untouched,
// and reconcile is clean.
//
// This is the buy path's own compensation (purchase.go, submitRefused):
// it passes with IT_REPAIR=off too. TestAbortedThroughGRPCThenKilled is
// the case only the repair settles.
func TestAbortedThroughGRPC(t *testing.T) {
	fenv, oenv := repairEnv()
	s := newStackWith(t, stackOptions{flashsaleEnv: fenv, ordersEnv: oenv})
	p := newDTMProxy(t, s)
	act := s.NewActivity(10)
	if code, e := s.Buy(act, "bystander"); code != http.StatusAccepted {
		t.Fatalf("bystander's buy: %d %s", code, e)
	}
	cases := []struct {
		user, route, when string
		before            bool
	}{
		{"afterlua", "/submit", "after its Lua step", true},
		{"beforelua", "/prepare", "before its Lua step", false},
	}
	for _, c := range cases {
		gid := contract.PurchaseGID(act, c.user)
		stock := redisStock(t, act)
		h := p.hold(c.route, gid, c.before)
		answer := make(chan [2]any, 1)
		go func() {
			code, e := s.Buy(act, c.user)
			answer <- [2]any{code, e}
		}()
		h.wait(t, 10*time.Second)
		s.abortThroughGRPC(gid)
		held := h.let(t)
		var a [2]any
		select {
		case a = <-answer:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the buy never answered", c.user)
		}
		by := "the buy"
		if len(s.repaired(gid, "purchase_compensated")) > 0 {
			by = "the repair"
		}
		t.Logf("%s, aborted %s: held %s; answered %v %v; unit returned by %s", c.user, c.when, held.Round(time.Millisecond), a[0], a[1], by)
		if a[0] != http.StatusConflict || a[1] != api.ErrorCodeAttemptUsed {
			t.Fatalf("%s: the aborted buy answered %v %v, want 409 %s", c.user, a[0], a[1], api.ErrorCodeAttemptUsed)
		}
		if b, n := barrierOf(t, act, gid), redisStock(t, act); b != contract.BarrierRollback || n != stock {
			t.Fatalf("%s: barrier %q, Redis stock %d after the answer, want rollback and %d (the unit back)", c.user, b, n, stock)
		}
		if st := s.dtmStatus(gid); st != dtmcli.StatusFailed {
			t.Fatalf("%s: dtm status %q, want failed", c.user, st)
		}
		if code, e := s.Buy(act, c.user); code != http.StatusConflict || e != api.ErrorCodeAttemptUsed {
			t.Fatalf("%s buying again: %d %s, want 409 %s", c.user, code, e, api.ErrorCodeAttemptUsed)
		}
	}
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || r.DBStock != 9 || r.Messages[dtmcli.StatusSucceed] != 1 || r.Messages[dtmcli.StatusFailed] != 2 {
		t.Fatalf("after the aborts: %s", r)
	}
}

// TestAbortedThroughGRPCThenKilled: an intruder aborts a purchase through
// dtm's gRPC port while it is parked after its Lua step took the unit
// (fault point after-lua), and flashsale is SIGKILLed there: no buy is
// left to notice, and dtm will never back-check a failed message. The
// repair of the restarted flashsale, at its start, finds the unit taken
// for a message dtm failed, fences the branch and returns the unit within
// the bound; reconcile is clean.
func TestAbortedThroughGRPCThenKilled(t *testing.T) {
	fenv, oenv := repairEnv()
	s := newStackWith(t, stackOptions{flashsaleEnv: append(fenv, "FLASHSALE_FAULTPOINTS=after-lua:-victim"), ordersEnv: oenv})
	act := s.NewActivity(10)
	if code, e := s.Buy(act, "bystander"); code != http.StatusAccepted {
		t.Fatalf("bystander's buy: %d %s", code, e)
	}
	gid := contract.PurchaseGID(act, "victim")
	go s.Buy(act, "victim") // never answered: the process dies under it
	line := waitLine(t, s.flashsale, "FAULTPOINT after-lua "+gid, 10*time.Second)
	if strings.Fields(line)[2] != gid {
		t.Fatalf("fault point reported %q", line)
	}
	if b, n := barrierOf(t, act, gid), redisStock(t, act); b != contract.BarrierTaken || n != 8 {
		t.Fatalf("parked after the Lua step: barrier %q, Redis stock %d, want op and 8", b, n)
	}
	s.abortThroughGRPC(gid)
	s.flashsale.Kill()
	killed := time.Now()
	if b, n := barrierOf(t, act, gid), redisStock(t, act); b != contract.BarrierTaken || n != 8 {
		t.Fatalf("after the abort and the kill: barrier %q, Redis stock %d, want op and 8", b, n)
	}
	s.restartFlashsale()
	restarted := time.Now()
	for barrierOf(t, act, gid) != contract.BarrierRollback || redisStock(t, act) != 9 {
		if time.Since(restarted) > repairBound {
			t.Fatalf("%s after the restart: barrier %q, Redis stock %d, want rollback and 9 (the unit back); dtm status %q",
				repairBound, barrierOf(t, act, gid), redisStock(t, act), s.dtmStatus(gid))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("unit back %s after the kill (flashsale ready again %s after it)",
		time.Since(killed).Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond))
	if n := len(s.repaired(gid, "purchase_compensated")); n != 1 {
		t.Fatalf("%s compensated %d times by the repair, want 1", gid, n)
	}
	if n := s.Metric(s.Admin, `flashsale_repairs_total{kind="purchase_compensated"}`); n != 1 {
		t.Fatalf("compensations counted: %v, want 1", n)
	}
	if st := s.dtmStatus(gid); st != dtmcli.StatusFailed {
		t.Fatalf("dtm status %q, want failed", st)
	}
	r := s.SettleStores(act, 20*time.Second)
	if r.LiveOrders != 1 || r.RedisStock != 9 || r.DBStock != 9 || r.Messages[dtmcli.StatusSucceed] != 1 || r.Messages[dtmcli.StatusFailed] != 1 {
		t.Fatalf("after the repair: %s", r)
	}
	if n := userOrders(t, act, "victim"); n != 0 {
		t.Fatalf("victim has %d orders, want none", n)
	}
	if code, e := s.Buy(act, "victim"); code != http.StatusConflict || e != api.ErrorCodeAttemptUsed {
		t.Fatalf("victim buying again: %d %s, want 409 %s", code, e, api.ErrorCodeAttemptUsed)
	}
}
