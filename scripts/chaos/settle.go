package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/httpjson"
	"github.com/flashsale/flashsale/reconcile"
)

// resetCronTime asks the dtm server to retry at once every transaction
// whose next try is later (its admin API), as an operator does after an
// outage: failed branch calls back off 18 s, 36 s, ... It returns how many
// transactions it hurried.
func (s *stack) resetCronTime(ctx context.Context) (int, error) {
	total := 0
	for range 100 {
		var body struct {
			HasRemaining bool `json:"has_remaining"`
			SucceedCount int  `json:"succeed_count"`
		}
		if err := s.getJSON(ctx, s.dtmURL()+"/resetCronTime?timeout=0&limit=100000", &body); err != nil {
			return total, err
		}
		total += body.SucceedCount
		if !body.HasRemaining {
			break
		}
	}
	return total, nil
}

// pending returns the gids of the run's messages (purchases,
// cancellations, stock adjustments) that are not final (prepared or
// submitted), from one listing of the dtm server.
func (s *stack) pending(ctx context.Context, acts map[int64]bool) ([]string, error) {
	var out []string
	for _, status := range []string{"prepared", "submitted"} {
		var body struct {
			Transactions []struct {
				Gid string `json:"gid"`
			} `json:"transactions"`
		}
		// dtm's Redis store drops the rest of a SCAN batch once a page
		// is full, so one page far larger than the run lists everything;
		// the status filter keeps the answer small.
		q := url.Values{"limit": {"10000000"}, "status": {status}}
		if err := s.getJSON(ctx, s.dtmURL()+"/all?"+q.Encode(), &body); err != nil {
			return nil, err
		}
		for _, t := range body.Transactions {
			if acts[gidActivity(t.Gid)] {
				out = append(out, t.Gid+" ("+status+")")
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// gidActivity returns the activity of a purchase, cancellation or stock
// adjustment gid, 0 for any other gid.
func gidActivity(gid string) int64 {
	if a, err := contract.ParseAdjustGID(gid); err == nil {
		return a.ActivityID
	}
	if act, _, err := contract.ParseCancelGID(gid); err == nil {
		return act
	}
	if act, _, err := contract.ParsePurchaseGID(gid); err == nil {
		return act
	}
	return 0
}

// unpaidLeft names the sales of unpaid (sales whose orders nobody pays)
// with orders not cancelled yet: the order service cancels each once its
// time to pay is over.
func (s *stack) unpaidLeft(ctx context.Context, unpaid map[int64]bool) ([]string, error) {
	var out []string
	for act, short := range unpaid {
		if !short {
			continue
		}
		var n int
		if err := s.db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE activity_id = ? AND status = 'created'", act).Scan(&n); err != nil {
			return nil, fmt.Errorf("orders of activity %d: %w", act, err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("activity %d: %d unpaid orders not cancelled yet", act, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// settle waits until no message of the run's sales is left prepared or
// submitted, no order of the sales in unpaid (nobody pays them) is left
// uncancelled, and, once dtm's store lost writes, nothing awaits the
// services' repair (awaitingRepair), hurrying backed-off messages with resetCronTime every
// 10 s, for at most bound after healed (the last fault's healing). It
// returns the time settlement took from healed, or what is stuck.
func (s *stack) settle(ctx context.Context, acts, unpaid map[int64]bool, healed time.Time, bound time.Duration, progress io.Writer) (time.Duration, []string, error) {
	var lastReset time.Time
	var stuck []string
	for {
		if time.Since(lastReset) >= 10*time.Second {
			n, err := s.resetCronTime(ctx)
			if err != nil {
				fmt.Fprintf(progress, "chaos: resetCronTime: %v\n", err)
			} else if n > 0 {
				fmt.Fprintf(progress, "chaos: resetCronTime hurried %d transactions\n", n)
			}
			lastReset = time.Now()
		}
		p, err := s.pending(ctx, acts)
		if err != nil {
			err = fmt.Errorf("dtm server: %w", err)
		} else {
			var u []string
			if u, err = s.unpaidLeft(ctx, unpaid); err == nil {
				p = append(p, u...)
				if len(p) == 0 && s.storeLosses.Load() > 0 {
					p, err = s.awaitingRepair(ctx, acts)
				}
				if err == nil && len(p) == 0 {
					return time.Since(healed), nil, nil
				}
				if err == nil {
					stuck = p
				}
			}
		}
		if time.Since(healed) > bound {
			if err != nil {
				return 0, stuck, err
			}
			return 0, stuck, nil
		}
		if !pause(ctx, 500*time.Millisecond) {
			return 0, stuck, ctx.Err()
		}
	}
}

func (s *stack) getJSON(ctx context.Context, u string, into any) error {
	return httpjson.Get(ctx, &http.Client{Timeout: 60 * time.Second}, u, into)
}

// awaitingRepair names what a loss of dtm's store left for the services'
// repair to finish: every gid that reconciliation of the run's sales finds
// in a broken promise while dtm has no message of that gid, or has it
// failed (a purchase whose unit was taken: the repair returns the unit).
// Such a message is not final until the repair drives it to its end: it
// counts as stuck, within the same bound; what is left after the bound is
// then reported by the check like any other violation.
func (s *stack) awaitingRepair(ctx context.Context, acts map[int64]bool) ([]string, error) {
	src := reconcile.Sources{Redis: s.rdb, DB: s.db.db, DTM: s.dtmURL()}
	var out []string
	for act := range acts {
		r, err := reconcile.Check(ctx, src, act)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, v := range r.Violations {
			for _, gid := range v.GIDs {
				if seen[gid] {
					continue
				}
				seen[gid] = true
				st, err := reconcile.MessageStatus(ctx, src, gid)
				if err != nil {
					return nil, err
				}
				if st == "" || st == "failed" {
					out = append(out, fmt.Sprintf("%s (%s %s; dtm: %s, awaiting the repair)", gid, v.Invariant, v.Message, orDefault(st, "none")))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
