package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/reconcile"
)

// dtmHTTP is the client the run's checks ask the dtm server with: a
// listing of a long run is large.
var dtmHTTP = &http.Client{Timeout: 60 * time.Second}

// dtm is the run's dtm server, as dtmclient addresses it.
func (s *stack) dtm() dtmclient.Groups { return dtmclient.ParseGroups(s.dtmURL()) }

// pending returns the gids of the run's messages (purchases,
// cancellations, stock adjustments) that are not final (prepared or
// submitted), from one listing of the dtm server.
func (s *stack) pending(ctx context.Context, acts map[int64]bool) ([]string, error) {
	var prefixes []string
	for act := range acts {
		prefixes = append(prefixes, contract.PurchaseGIDPrefix(act), contract.CancelGIDPrefix(act), contract.AdjustGIDPrefix(act))
	}
	unsettled, err := dtmclient.ListUnsettled(ctx, dtmHTTP, s.dtm(), prefixes...)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(unsettled))
	for gid, status := range unsettled {
		out = append(out, gid+" ("+status+")")
	}
	sort.Strings(out)
	return out, nil
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
// services' repair (awaitingRepair), hurrying backed-off messages every
// 10 s (dtm's resetCronTime), for at most bound after healed (the last
// fault's healing). It returns the time settlement took from healed, or
// what is stuck.
func (s *stack) settle(ctx context.Context, acts, unpaid map[int64]bool, healed time.Time, bound time.Duration, progress io.Writer) (time.Duration, []string, error) {
	var lastReset time.Time
	var stuck []string
	for {
		if time.Since(lastReset) >= 10*time.Second {
			n, err := dtmclient.Hurry(ctx, dtmHTTP, s.dtmURL(), 0)
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
				st, err := dtmclient.MessageStatus(ctx, dtmHTTP, s.dtm(), gid)
				if err != nil {
					return nil, err
				}
				if st == dtmclient.NoMessage || st == dtmcli.StatusFailed {
					out = append(out, fmt.Sprintf("%s (%s %s; dtm: %s, awaiting the repair)", gid, v.Invariant, v.Message, dtmclient.Describe(st, nil)))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
