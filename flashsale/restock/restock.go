// Package restock re-derives an activity's Redis stock from the durable
// stores after Redis lost it (the embedded mode's in-memory Redis at every
// start; a Redis server that restarted empty) or may have lost part of it
// (any restart of a Redis server: with appendfsync everysec the last second
// of writes can be gone; the counter is then stale, see
// rediscache/epoch.go). The stock is never reloaded from the activity's
// total: after a crash that oversells.
//
// A re-derivation is exact while buys are in flight because it first
// freezes every shard of the activity (Stock.Freeze), after which the Lua
// step takes nothing:
// every unit taken before then belongs to a message the dtm server already
// has (Prepare comes before the Lua step), so reading the messages, then
// the orders, then the barriers of prepared messages sees each taken unit
// once, and no unit is taken during the reads. Restore applies only while
// the shards are still frozen by this re-derivation, so a slower
// re-derivation in another instance never overwrites one after which buys
// resumed (rediscache/rederive.go).
package restock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sabotage"
)

// Messages lists the purchase messages and stock adjustments of the
// activities named as gid -> dtm status (the dtm server's listing, read
// once for all of them).
type Messages func(ctx context.Context, activityIDs ...int64) (map[string]string, error)

// Activity sets the Redis stock of a to its total - live orders - purchases
// on their way (messages committed whose order does not exist yet) -
// removals on their way (an admin's removal of units whose local step took
// them from Redis but whose branch has not yet lowered the total), and
// marks the barriers of every purchase that holds or held a unit as taken,
// so a returning buyer is told so. A cancelled order is not live: its unit
// is in the stock set here, so the Redis barrier of its cancellation's
// branch is marked too, and a delivery of that branch still to come
// returns nothing more. Likewise the Redis barrier of every addition of
// units the total includes. It returns the stock it set.
//
// Messages are read before orders: a message that becomes an order between
// the two reads is then seen in both and counted once. The total is read
// with the adjustments it includes (flashsale.Ledger), so an adjustment
// that applies at any time during the reads is counted once too.
//
// It returns flashsale.ErrRederiving when another re-derivation holds the
// activity, and 0 with no error when nothing was missing or stale.
func Activity(ctx context.Context, a flashsale.Activity, stock flashsale.Stock, orders flashsale.OrderReader, msgs Messages) (int64, error) {
	token, err := stock.Freeze(ctx, a.ID)
	if err != nil || token == "" {
		return 0, err
	}
	statuses, err := msgs(ctx, a.ID)
	if err != nil {
		return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
	}
	return activity(ctx, a, token, stock, orders, statuses)
}

// activity re-derives a's stock from statuses, a listing of the dtm server
// read after a's shards were frozen with token, which may hold the
// messages of other activities too.
func activity(ctx context.Context, a flashsale.Activity, token string, stock flashsale.Stock, orders flashsale.OrderReader, statuses map[string]string) (int64, error) {
	fail := func(err error) (int64, error) { return 0, fmt.Errorf("restock activity %d: %w", a.ID, err) }
	if !time.Now().Before(a.EndAt) {
		// An activity over (or cancelled) stays closed, whatever the
		// restart lost: closed before Restore lets buys resume.
		if err := stock.Close(ctx, a.ID); err != nil {
			return fail(err)
		}
	}
	purchases, adjustments := contract.PurchaseGID(a.ID, ""), contract.AdjustGIDPrefix(a.ID)
	gids, cancelled, err := orders.OrderGIDs(ctx, a.ID)
	if err != nil {
		return fail(err)
	}
	ledger, err := orders.Ledger(ctx, a.ID)
	if err != nil {
		return fail(err)
	}
	live := len(gids) - len(cancelled)
	ordered := map[string]bool{}
	for _, g := range gids {
		ordered[g] = true
	}
	taken := append([]string(nil), gids...)
	var names []string
	onTheWay, removing := 0, 0
	for gid, st := range statuses {
		if !strings.HasPrefix(gid, purchases) && !strings.HasPrefix(gid, adjustments) {
			continue // another activity's
		}
		adj, aerr := contract.ParseAdjustGID(gid)
		isAdjust := aerr == nil
		if ordered[gid] || isAdjust && (adj.Delta > 0 || ledger.Applied[gid]) {
			continue
		}
		// A purchase that succeeded without its order lost the order
		// (a database failover): the repair creates it again, so its
		// unit is not on sale either.
		committed := st == dtmcli.StatusSubmitted || st == dtmcli.StatusSucceed
		if st == dtmcli.StatusPrepared {
			// A prepared message commits at its back-check only if its
			// barrier survived.
			b, err := stock.Barrier(ctx, a.ID, contract.MsgBarrier(gid))
			if err != nil {
				return fail(err)
			}
			committed = b == contract.BarrierTaken
		}
		switch {
		case !committed:
		case isAdjust:
			removing += -adj.Delta
			names = append(names, contract.MsgBarrier(gid))
		default:
			onTheWay++
			taken = append(taken, gid)
		}
	}
	// A local step whose barrier holds units but whose message dtm does
	// not know (its store forgot it) or failed is on its way too: the
	// repair submits the first again, or puts the second's units back
	// itself (rediscache's Compensate, which waits for this Restore). The
	// shards are frozen, so no barrier changes under the scan.
	held, err := stock.Taken(ctx, a.ID)
	if err != nil {
		return fail(err)
	}
	counted := map[string]bool{}
	for _, g := range taken {
		counted[g] = true
	}
	for _, n := range names {
		counted[contract.BarrierGID(n)] = true
	}
	for _, gid := range held {
		adj, aerr := contract.ParseAdjustGID(gid)
		switch {
		case ordered[gid] || counted[gid]:
		case aerr == nil && !ledger.Applied[gid] && adj.Delta < 0:
			removing += -adj.Delta
			names = append(names, contract.MsgBarrier(gid))
		case aerr != nil:
			onTheWay++
			taken = append(taken, gid)
		}
	}
	units := int64(ledger.Total - live - onTheWay - removing)
	if sabotage.ReloadFromTotal {
		units = int64(ledger.Total) // a broken build of the chaos suite only (internal/sabotage)
	}
	if units < 0 {
		return fail(fmt.Errorf("%d live orders, %d on their way and %d units being removed exceed the total %d", live, onTheWay, removing, ledger.Total))
	}
	for _, g := range taken {
		names = append(names, contract.MsgBarrier(g))
	}
	for _, g := range cancelled {
		_, user, err := contract.ParsePurchaseGID(g)
		if err != nil {
			return fail(err)
		}
		names = append(names, contract.BranchBarrier(contract.CancelGID(a.ID, user)))
	}
	for g := range ledger.Applied {
		if adj, err := contract.ParseAdjustGID(g); err == nil && adj.Delta > 0 {
			names = append(names, contract.BranchBarrier(g))
		} else {
			names = append(names, contract.MsgBarrier(g))
		}
	}
	if err := stock.Restore(ctx, a.ID, token, units, names); err != nil {
		return fail(err)
	}
	return units, nil
}

// Missing re-derives the stock of every activity whose counter is missing
// or stale and returns how many it re-derived. It freezes them all first,
// then reads the dtm server's listing once for all of them: after a Redis
// restart every counter is stale at once, and the listing is the costly
// read. Read after the shards were frozen, it is recent enough for each
// (Activity). An activity another instance is re-deriving is left to it.
func Missing(ctx context.Context, cat flashsale.Catalog, stock flashsale.Stock, orders flashsale.OrderReader, msgs Messages) (int, error) {
	list, err := cat.Activities(ctx)
	if err != nil {
		return 0, err
	}
	var stale []flashsale.Activity
	var tokens []string
	var ids []int64
	for _, a := range list {
		if _, ok, err := stock.Remaining(ctx, a.ID); err != nil {
			return 0, err
		} else if ok {
			continue
		}
		token, err := stock.Freeze(ctx, a.ID)
		if errors.Is(err, flashsale.ErrRederiving) || err == nil && token == "" {
			continue
		}
		if err != nil {
			return 0, err
		}
		stale = append(stale, a)
		tokens = append(tokens, token)
		ids = append(ids, a.ID)
	}
	if len(stale) == 0 {
		return 0, nil
	}
	statuses, err := msgs(ctx, ids...)
	if err != nil {
		return 0, fmt.Errorf("restock: %w", err)
	}
	// An activity that cannot be re-derived (its stores disagree) stays
	// stale, its buys refused, and is tried again at the next pass; it
	// does not keep the others from selling.
	done := 0
	var errs []error
	for i, a := range stale {
		if _, err := activity(ctx, a, tokens[i], stock, orders, statuses); errors.Is(err, flashsale.ErrRederiving) {
			continue
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}
