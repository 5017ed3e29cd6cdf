// Package repair drives to their end the transactions of flashsale's
// messages that dtm's store forgot, or whose result another store lost
// (docs/architecture.md, "When a store forgets"): purchases and stock
// adjustments whose local step committed are re-submitted under the same
// gid; a purchase dtm failed after its unit was taken gets the unit back
// (its branch fenced first); a purchase that succeeded but whose order the
// database lost gets its order again through the signed branch call.
//
// Everything it does is what dtm or the services would have done had
// nothing been lost, behind the same barriers, so it is safe to run at any
// time, from several instances at once, and any number of times.
package repair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// Kinds of repair, the label of the repairs counter.
const (
	// PurchaseResubmitted: a purchase whose unit was taken, or whose order
	// exists, and that dtm did not know, submitted again.
	PurchaseResubmitted = "purchase_resubmitted"
	// PurchaseCompensated: a purchase dtm failed after its unit was taken:
	// the branch fenced, the unit back.
	PurchaseCompensated = "purchase_compensated"
	// OrderRecreated: a purchase dtm knows as succeeded whose order the
	// database lost, created again.
	OrderRecreated = "order_recreated"
	// AdjustmentResubmitted: a stock adjustment whose local step committed
	// and that dtm did not know, submitted again.
	AdjustmentResubmitted = "adjustment_resubmitted"
	// Unrepairable: a message dtm failed whose effect stands (an order, an
	// applied adjustment): reported, not changed.
	Unrepairable = "unrepairable"
)

// Kinds are the kinds of repair, as the repairs counter labels them.
var Kinds = []string{PurchaseResubmitted, PurchaseCompensated, OrderRecreated, AdjustmentResubmitted, Unrepairable}

// Purchases rebuilds and settles purchase messages (purchase.Service).
type Purchases interface {
	Resubmit(ctx context.Context, a flashsale.Activity, user string) error
	Compensate(ctx context.Context, a flashsale.Activity, user string) (bool, error)
	Recreate(ctx context.Context, a flashsale.Activity, user string) error
}

// Adjustments rebuilds adjustment messages (adjust.Service).
type Adjustments interface {
	Resubmit(ctx context.Context, adj contract.Adjustment) error
}

// Repairer finds and repairs what the stores forgot, activity by activity.
type Repairer struct {
	Catalog     flashsale.Catalog
	Stock       flashsale.Stock
	Orders      flashsale.OrderReader
	Purchases   Purchases
	Adjustments Adjustments
	// DTM lists the dtm groups; HTTP asks them (nil: a default client).
	DTM  dtmclient.Groups
	HTTP *http.Client
	// Window: an activity that ended longer ago than this is not checked.
	Window time.Duration
	// FullEvery: a pass run only because the fallback period elapsed
	// (why dtmclient.Fallback) is light while the last full pass is
	// younger than this (0: every pass is full). See Run.
	FullEvery time.Duration
	// Repaired, when set, counts each repair by kind.
	Repaired func(kind string)
	// Unsettled, when set, is told after each pass without errors when
	// each dtm group's oldest message in flight was prepared: of the
	// messages whose local step committed (a unit held, an order, an
	// applied adjustment) and whose branch has not finished, the zero
	// time for a group with none. See Run.
	Unsettled func(oldest map[string]time.Time)
	Log       *slog.Logger

	mu       sync.Mutex
	running  map[string]bool // gids being repaired now (the sale view)
	made     map[string]int  // repairs made, by kind
	lastFull time.Time       // the start of the last full pass without errors
}

// Run checks every activity that is not over for longer than Window and
// repairs what it finds. It returns the repairs made, by kind, and the
// errors met (the other activities are still checked).
//
// A full pass reads dtm's listing of every group first: dtm answers it by
// reading its whole store (the last week's messages), so it is paid once
// at the start, after a store's epoch changed, and every FullEvery. A
// light pass (why dtmclient.Fallback, the last full one younger than
// FullEvery) skips the purchases whose traces are complete, a unit held
// and its order created: no status dtm may give them calls for a repair
// (forgotten, a re-submit changes nothing; failed, only a store that went
// back, which changes its epoch, or the order's own branch could have
// failed it). It asks dtm about the rest one by one: the purchases in
// flight, and what the stores lost. It never reads the listing: dtm
// answers one with a SCAN and an MGET of its whole store, which held the
// purchases for seconds in the benchmark (docs/benchmarks.md), while a
// lookup is a read of one message.
//
// The messages found in flight give the age of each group's oldest
// (Unsettled): what the alerting rules read to tell a message that does
// not settle, at no cost of its own.
func (r *Repairer) Run(ctx context.Context, why string) (map[string]int, error) {
	list, err := r.Catalog.Activities(ctx)
	if err != nil {
		return nil, err
	}
	p := &pass{}
	for _, a := range list {
		if time.Since(a.EndAt) <= r.Window {
			p.acts = append(p.acts, a)
			p.prefixes = append(p.prefixes, contract.PurchaseGIDPrefix(a.ID), contract.AdjustGIDPrefix(a.ID))
		}
	}
	if len(p.acts) == 0 {
		r.tellUnsettled(p)
		return nil, nil
	}
	start := time.Now()
	r.mu.Lock()
	full := dtmclient.FullPass(why, r.lastFull, r.FullEvery, start)
	r.mu.Unlock()
	if full {
		if err := r.list(ctx, p); err != nil {
			return nil, err
		}
	}
	done := map[string]int{}
	var errs []error
	for _, a := range p.acts {
		if err := r.activity(ctx, a, p, done); err != nil {
			errs = append(errs, fmt.Errorf("activity %d: %w", a.ID, err))
		}
	}
	if n := sum(done); n > 0 {
		r.Log.Warn("repaired what the stores forgot", "why", why, "repairs", done)
	}
	if len(errs) == 0 {
		if full {
			r.mu.Lock()
			r.lastFull = start
			r.mu.Unlock()
		}
		r.tellUnsettled(p)
	}
	return done, errors.Join(errs...)
}

// tellUnsettled tells Unsettled the oldest message in flight of every
// group that p found (the zero time for the others).
func (r *Repairer) tellUnsettled(p *pass) {
	if r.Unsettled == nil {
		return
	}
	oldest := map[string]time.Time{}
	for _, g := range r.DTM {
		oldest[g] = p.oldest[g]
	}
	r.Unsettled(oldest)
}

// pass is what one Run reads: the activities it checks and, once read,
// dtm's listing of their messages.
type pass struct {
	acts     []flashsale.Activity
	prefixes []string
	listing  map[string]string    // nil until read
	oldest   map[string]time.Time // by group: the oldest message in flight seen
}

// inFlight notes m when it is prepared or submitted.
func (p *pass) inFlight(m dtmclient.Message) {
	if m.Status != dtmcli.StatusPrepared && m.Status != dtmcli.StatusSubmitted {
		return
	}
	if p.oldest == nil {
		p.oldest = map[string]time.Time{}
	}
	if t, ok := p.oldest[m.Group]; !ok || m.Created.Before(t) {
		p.oldest[m.Group] = m.Created
	}
}

// list reads dtm's listing of p's messages (one for all the activities:
// dtm reads every transaction of every group).
func (r *Repairer) list(ctx context.Context, p *pass) error {
	st, err := dtmclient.ListMessages(ctx, r.HTTP, r.DTM, p.prefixes...)
	if err == nil {
		p.listing = st
	}
	return err
}

// InProgress returns the gids being repaired now, sorted.
func (r *Repairer) InProgress() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.running))
	for g := range r.running {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Made returns the repairs made since the start, by kind.
func (r *Repairer) Made() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.made == nil {
		return map[string]int{} // never null in the sale view's JSON
	}
	return maps.Clone(r.made)
}

// activity repairs one activity of pass p. The reads come in this order:
// dtm's listing (in a full pass), then the orders and applied
// adjustments, then the barriers, then a lookup of each gid the listing
// lacks or shows in flight (every gid, in a light pass). A message that
// the listing shows succeeded had its order committed before, so the
// orders' read has it; one whose local step ran after the listing is
// found by its lookup (Prepare comes before the local step), whose status
// is newer than the orders' read: a purchase it shows succeeded without
// an order has its order read again. An order read before its barrier
// (the unit is taken first) is never "ordered but not held".
func (r *Repairer) activity(ctx context.Context, a flashsale.Activity, p *pass, done map[string]int) error {
	gids, _, err := r.Orders.OrderGIDs(ctx, a.ID)
	if err != nil {
		return err
	}
	ledger, err := r.Orders.Ledger(ctx, a.ID)
	if err != nil {
		return err
	}
	taken, err := r.Stock.Taken(ctx, a.ID)
	if err != nil {
		return err
	}
	held, ordered := set(taken), set(gids)
	light := p.listing == nil
	check := map[string]bool{}
	for _, m := range []map[string]bool{held, ordered, ledger.Applied} {
		for g := range m {
			if !light || !held[g] || !ordered[g] { // a light pass skips the complete
				check[g] = true
			}
		}
	}
	var errs []error
	for gid := range check {
		effect := ordered[gid] || ledger.Applied[gid]
		status, listed := p.listing[gid]
		if !listed || status == dtmcli.StatusPrepared || status == dtmcli.StatusSubmitted {
			// Missing from the listing (dtm's can skip transactions, and
			// misses the newest), or in flight in it: asked alone.
			m, err := dtmclient.LookUp(ctx, r.HTTP, r.DTM, gid)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			p.inFlight(m)
			status = m.Status
			if status == dtmcli.StatusSucceed && !effect {
				if effect, err = r.ordered(ctx, a, gid); err != nil {
					errs = append(errs, err)
					continue
				}
			}
		}
		kind, err := r.one(ctx, a, gid, status, held[gid], effect)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", gid, err))
		}
		if kind != "" {
			done[kind]++
			r.mu.Lock()
			if r.made == nil {
				r.made = map[string]int{}
			}
			r.made[kind]++
			r.mu.Unlock()
			if r.Repaired != nil {
				r.Repaired(kind)
			}
		}
	}
	return errors.Join(errs...)
}

// ordered reports whether purchase gid of a has its order now (false for
// a gid that is not a purchase's).
func (r *Repairer) ordered(ctx context.Context, a flashsale.Activity, gid string) (bool, error) {
	_, user, err := contract.ParsePurchaseGID(gid)
	if err != nil {
		return false, nil
	}
	switch _, err = r.Orders.OrderOf(ctx, a.ID, user); {
	case err == nil:
		return true, nil
	case contract.ErrorCode(err) == contract.ENotFound:
		return false, nil
	default:
		return false, err
	}
}

// one repairs message gid of a, whose dtm status is status
// (dtmclient.NoMessage when no group has it); held says that its local
// step holds units in Redis, done that its effect (an order, an applied
// adjustment) exists. It returns the kind of repair made, if any.
func (r *Repairer) one(ctx context.Context, a flashsale.Activity, gid, status string, held, done bool) (string, error) {
	adj, aerr := contract.ParseAdjustGID(gid)
	isAdjust := aerr == nil
	_, user, perr := contract.ParsePurchaseGID(gid)
	if !isAdjust && perr != nil {
		return "", nil // not ours
	}
	var kind string
	var act func() error
	switch {
	case status == dtmclient.NoMessage && (held || done):
		// dtm forgot a message whose local step committed.
		if isAdjust {
			kind, act = AdjustmentResubmitted, func() error { return r.Adjustments.Resubmit(ctx, adj) }
		} else {
			kind, act = PurchaseResubmitted, func() error { return r.Purchases.Resubmit(ctx, a, user) }
		}
	case status == dtmcli.StatusFailed && held && !done && !isAdjust:
		kind, act = PurchaseCompensated, func() error {
			back, err := r.Purchases.Compensate(ctx, a, user)
			if err == nil && !back {
				err = errNothing
			}
			return err
		}
	case status == dtmcli.StatusSucceed && !done && !isAdjust:
		// The database lost the order of a message that succeeded.
		kind, act = OrderRecreated, func() error { return r.Purchases.Recreate(ctx, a, user) }
	case status == dtmcli.StatusFailed && (done || isAdjust && held):
		r.Log.Error("a message dtm failed whose effect stands: left as it is", "gid", gid, "held", held, "done", done)
		return Unrepairable, nil
	default:
		return "", nil
	}
	r.mark(gid, true)
	defer r.mark(gid, false)
	err := act()
	switch {
	case errors.Is(err, errNothing):
		return "", nil // another instance did it first
	case err != nil && strings.Contains(err.Error(), dtmcli.ResultFailure):
		return "", nil // dtm has the message by now (another repair, the buyer's own Submit)
	case err != nil:
		return "", err
	}
	r.Log.Warn("repaired a message a store forgot", "gid", gid, "kind", kind, "dtm_status", status)
	return kind, nil
}

// errNothing: the repair found nothing left to do.
var errNothing = errors.New("nothing to repair")

func (r *Repairer) mark(gid string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == nil {
		r.running = map[string]bool{}
	}
	if on {
		r.running[gid] = true
	} else {
		delete(r.running, gid)
	}
}

func set(gids []string) map[string]bool {
	m := make(map[string]bool, len(gids))
	for _, g := range gids {
		m[g] = true
	}
	return m
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
