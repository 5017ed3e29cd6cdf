package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/flashsale/flashsale/reconcile"
)

// verdict is what the run found once the sale settled (or failed to).
type verdict struct {
	reports []reconcile.Report
	// violations lists every broken promise, one line each with its ids:
	// I1-I5 from reconciliation, and A1 (a shopper told 202 gets an order).
	violations []string
	// reconciled counts the violations reconciliation found (A1 aside).
	reconciled int
	// activities counts the activities checked.
	activities int
	// command is the reconcile command's output and exit code.
	command     string
	commandExit int
}

// check runs reconciliation on every activity of the run's database (the
// reconcile package, and the reconcile command when built): the sales, and
// any activity an admin call created twice when its answer was lost. It
// also checks that every shopper told 202 has an order.
func (s *stack) check(ctx context.Context, sh *shop, reconcileBin string) (verdict, error) {
	var v verdict
	acts, err := s.activityIDs(ctx)
	if err != nil {
		return v, err
	}
	v.activities = len(acts)
	src := reconcile.Sources{Redis: s.rdb, DB: s.db.db, DTM: s.dtmURL()}
	for _, act := range acts {
		var r reconcile.Report
		var err error
		// The MySQL server is shared: a moment of "too many connections"
		// is not the run's verdict.
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
			v.violations = append(v.violations, violationLine(act, x))
		}
		lost, err := s.acceptedWithoutOrder(ctx, act, sh.acceptedUsers(act))
		if err != nil {
			return v, err
		}
		if len(lost) > 0 {
			v.violations = append(v.violations, fmt.Sprintf("activity %d: A1 %d shoppers told 202 have no order users=%s", act, len(lost), strings.Join(first(lost, 20), ",")))
		}
	}
	if reconcileBin != "" {
		ids := make([]string, len(acts))
		for i, a := range acts {
			ids[i] = itoa(int(a))
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

// violationLine renders a violation with the ids involved.
func violationLine(act int64, x reconcile.Violation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "activity %d: %s %s", act, x.Invariant, x.Message)
	if len(x.GIDs) > 0 {
		fmt.Fprintf(&b, " gids=%s", strings.Join(first(x.GIDs, 20), ","))
	}
	if len(x.OrderIDs) > 0 {
		ids := make([]string, len(x.OrderIDs))
		for i, id := range x.OrderIDs {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(&b, " orders=%s", strings.Join(first(ids, 20), ","))
	}
	if len(x.Users) > 0 {
		fmt.Fprintf(&b, " users=%s", strings.Join(first(x.Users, 20), ","))
	}
	return b.String()
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("...(%d more)", len(s)-n))
	}
	return s
}
