package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/elide"
	"github.com/flashsale/flashsale/reconcile"
)

// verdict is what the run found once the sale settled (or failed to).
type verdict struct {
	reports []reconcile.Report
	// violations lists every broken promise, one line each with its ids:
	// I1-I5 from reconciliation, A1 (a shopper told 202 gets an order) and
	// A2 (an adjustment told 200 succeed or 202 is applied exactly once).
	violations []string
	// reconciled counts the violations reconciliation found (A1, A2 aside).
	reconciled int
	// adjustments counts the stock adjustments the admin sent, each gid
	// once, by their final status on the dtm server; netDelta sums the
	// units of those that succeeded.
	adjustments map[string]int
	netDelta    int
	// activities counts the activities checked.
	activities int
	// command is the reconcile command's output and exit code.
	command     string
	commandExit int
}

// check runs reconciliation on every activity of the run's database (the
// reconcile package, and the reconcile command when built): the sales, and
// any activity an admin call created twice when its answer was lost, each
// created with units. It also checks that every shopper told 202 has an
// order, and the admin's stock adjustments (A2).
func (s *stack) check(ctx context.Context, sh *shop, adm *admin, units int, reconcileBin string) (verdict, error) {
	v := verdict{adjustments: map[string]int{}}
	var acts []int64
	var err error
	// The MySQL server is shared: a moment of "too many connections" is
	// not the run's verdict.
	for try := 0; try < 5; try++ {
		if acts, err = s.activityIDs(ctx); err == nil || !pause(ctx, time.Duration(try+1)*time.Second) {
			break
		}
	}
	if err != nil {
		return v, err
	}
	v.activities = len(acts)
	src := reconcile.Sources{Redis: s.rdb, DB: s.db.db, DTM: s.dtmURL()}
	for _, act := range acts {
		var r reconcile.Report
		for try := 0; try < 5; try++ {
			if r, err = reconcile.Check(ctx, src, act); err == nil || !pause(ctx, time.Duration(try+1)*time.Second) {
				break
			}
		}
		if err != nil {
			return v, fmt.Errorf("reconcile activity %d: %w", act, err)
		}
		v.reports = append(v.reports, r)
		v.reconciled += len(r.Violations)
		for _, x := range r.Violations {
			v.violations = append(v.violations, fmt.Sprintf("activity %d: %s", act, x))
		}
		lost, err := s.acceptedWithoutOrder(ctx, act, sh.acceptedUsers(act))
		if err != nil {
			return v, err
		}
		if len(lost) > 0 {
			v.violations = append(v.violations, fmt.Sprintf("activity %d: A1 %d shoppers told 202 have no order users=%s", act, len(lost), strings.Join(elide.List(lost, 20), ",")))
		}
		if err := s.checkAdjustments(ctx, &v, act, units, r.Total, adm.adjustments(act)); err != nil {
			return v, err
		}
	}
	if reconcileBin != "" {
		ids := make([]string, len(acts))
		for i, a := range acts {
			ids[i] = strconv.Itoa(int(a))
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		// Exit 2 is "could not check" (a store unreachable): try again.
		for try := 0; try < 5; try++ {
			cmd := exec.CommandContext(ctx, reconcileBin, "-activity", strings.Join(ids, ","),
				"-redis", s.redisAddr(), "-redis-db", "0", "-mysql", s.db.dsn, "-dtm", s.dtmURL(), "-timeout", "20m")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			v.command, v.commandExit = out.String(), 0
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee):
				v.commandExit = ee.ExitCode()
			default:
				return v, fmt.Errorf("reconcile command: %w", err)
			}
			if v.commandExit != 2 || !pause(ctx, time.Duration(try+1)*time.Second) {
				break
			}
		}
	}
	return v, nil
}

// activityIDs lists the activities of the run's database.
func (s *stack) activityIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.db.db.QueryContext(ctx, "SELECT id FROM activities ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list activities: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// acceptedWithoutOrder returns the users of users without an order in act.
// An order cancelled unpaid counts: it was created.
func (s *stack) acceptedWithoutOrder(ctx context.Context, act int64, users []string) ([]string, error) {
	rows, err := s.db.db.QueryContext(ctx, "SELECT user_id FROM orders WHERE activity_id = ?", act)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		have[u] = true
	}
	var lost []string
	for _, u := range users {
		if !have[u] {
			lost = append(lost, u)
		}
	}
	sort.Strings(lost)
	return lost, rows.Err()
}

// adjustmentState is what the stores hold of an activity's stock
// adjustments.
type adjustmentState struct {
	act int64
	// status is each adjustment's status on the dtm server
	// (dtmclient.NoMessage when it has no such message): every gid the
	// admin sent, and any other the dtm server lists for the activity.
	status map[string]string
	// rows are the activity's stock_adjustments rows, gid -> delta.
	rows map[string]int
	// total is activity_stock.total (reconciliation's), activityTotal
	// activities.total.
	total, activityTotal int
}

// checkAdjustments checks A2 for act (see adjustmentState.violations) and
// counts its adjustments into v.
func (s *stack) checkAdjustments(ctx context.Context, v *verdict, act int64, units, total int, sent []adjustment) error {
	var st adjustmentState
	var err error
	for try := 0; try < 5; try++ {
		if st, err = s.readAdjustments(ctx, act, sent); err == nil || !pause(ctx, time.Duration(try+1)*time.Second) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("adjustments of activity %d: %w", act, err)
	}
	st.total = total
	for gid, status := range st.status {
		v.adjustments[dtmclient.Describe(status, nil)]++
		if status == dtmcli.StatusSucceed {
			v.netDelta += adjustmentDelta(gid)
		}
	}
	v.violations = append(v.violations, st.violations(units, sent)...)
	return nil
}

// violations checks A2 from the stores, not from the answers (a request
// answered 503, or not at all, may still apply): every adjustment told 200
// succeed, or 202 (the dtm server completes it), is succeed on the dtm
// server; no removal larger than the sale
// ever was is; and each adjustment that succeeded is counted exactly once,
// in the totals (the units the sale was created with plus their deltas)
// and in stock_adjustments (one row each, and no row of another).
func (st adjustmentState) violations(units int, sent []adjustment) []string {
	var out []string
	bad := func(what string, gids []string) {
		line := fmt.Sprintf("activity %d: A2 %s", st.act, what)
		if len(gids) > 0 {
			sort.Strings(gids)
			line += " gids=" + strings.Join(elide.List(gids, 20), ",")
		}
		out = append(out, line)
	}
	told, huge := map[string]bool{}, map[string]bool{}
	for _, a := range sent {
		if a.promised() && st.status[a.gid] != dtmcli.StatusSucceed {
			told[fmt.Sprintf("%s (told %d %s, %s)", a.gid, a.code, a.status, dtmclient.Describe(st.status[a.gid], nil))] = true
		}
		if a.kind == adjTooLarge && st.status[a.gid] == dtmcli.StatusSucceed {
			huge[a.gid] = true
		}
	}
	if len(told) > 0 {
		bad(fmt.Sprintf("%d adjustments told 200 succeed or 202 did not succeed on the dtm server", len(told)), keys(told))
	}
	if len(huge) > 0 {
		bad(fmt.Sprintf("%d removals of more units than the sale ever had succeeded", len(huge)), keys(huge))
	}
	want, applied := units, 0
	var noRow, wrongRow []string
	for gid, status := range st.status {
		if status != dtmcli.StatusSucceed {
			continue
		}
		want += adjustmentDelta(gid)
		applied++
		if _, ok := st.rows[gid]; !ok {
			noRow = append(noRow, gid)
		}
	}
	for gid, delta := range st.rows {
		if st.status[gid] != dtmcli.StatusSucceed || delta != adjustmentDelta(gid) {
			wrongRow = append(wrongRow, fmt.Sprintf("%s (%s, delta %d)", gid, dtmclient.Describe(st.status[gid], nil), delta))
		}
	}
	if st.total != want {
		bad(fmt.Sprintf("total %d != %d created + %d from the %d adjustments that succeeded", st.total, units, want-units, applied), nil)
	}
	if st.activityTotal != st.total {
		bad(fmt.Sprintf("activities.total %d != activity_stock.total %d", st.activityTotal, st.total), nil)
	}
	if len(noRow) > 0 {
		bad(fmt.Sprintf("%d adjustments that succeeded have no stock_adjustments row", len(noRow)), noRow)
	}
	if len(wrongRow) > 0 {
		bad(fmt.Sprintf("%d stock_adjustments rows of no adjustment that succeeded with that delta", len(wrongRow)), wrongRow)
	}
	return out
}

// readAdjustments reads act's adjustments from the dtm server (each gid
// the admin sent or stock_adjustments holds asked one by one: its listing
// can skip some) and MySQL.
func (s *stack) readAdjustments(ctx context.Context, act int64, sent []adjustment) (adjustmentState, error) {
	st := adjustmentState{act: act, rows: map[string]int{}}
	var err error
	if st.status, err = dtmclient.ListMessages(ctx, dtmHTTP, s.dtm(), contract.AdjustGIDPrefix(act)); err != nil {
		return st, err
	}
	for _, a := range sent {
		if st.status[a.gid], err = dtmclient.MessageStatus(ctx, dtmHTTP, s.dtm(), a.gid); err != nil {
			return st, err
		}
	}
	rows, err := s.db.db.QueryContext(ctx, "SELECT gid, delta FROM stock_adjustments WHERE activity_id = ?", act)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var gid string
		var delta int
		if err := rows.Scan(&gid, &delta); err != nil {
			return st, err
		}
		st.rows[gid] = delta
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	for gid := range st.rows {
		if _, ok := st.status[gid]; !ok {
			if st.status[gid], err = dtmclient.MessageStatus(ctx, dtmHTTP, s.dtm(), gid); err != nil {
				return st, err
			}
		}
	}
	err = s.db.db.QueryRowContext(ctx, "SELECT total FROM activities WHERE id = ?", act).Scan(&st.activityTotal)
	return st, err
}

// adjustmentDelta returns the units of adjustment gid (0 if gid is none).
func adjustmentDelta(gid string) int {
	a, _ := contract.ParseAdjustGID(gid)
	return a.Delta
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
