// Package restock re-derives an activity's Redis stock from the durable
// stores after Redis lost it (the embedded mode's in-memory Redis at every
// start; a Redis server that restarted empty) or may have lost part of it
// (any restart of a Redis server: with appendfsync everysec the last second
// of writes can be gone; the counter is then stale, see
// rediscache/epoch.go). The stock is never reloaded from the activity's
// total: after a crash that oversells.
//
// A re-derivation is exact while buys are in flight because it runs only
// while the counter is missing or stale, when the Lua step takes nothing:
// every unit taken before then belongs to a message the dtm server already
// has (Prepare comes before the Lua step), so reading the messages, then
// the orders, then the barriers of prepared messages sees each taken unit
// once, and no unit is taken during the reads. Restore applies only while
// the counter is still missing or stale, so a slower re-derivation in
// another instance never overwrites one after which buys resumed.
package restock

import (
	"context"
	"fmt"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/sabotage"
)

// Messages lists an activity's purchase messages as gid -> dtm status.
type Messages func(ctx context.Context, activityID int64) (map[string]string, error)

// Activity sets the Redis stock of a to total - live orders - purchases on
// their way (messages committed whose order does not exist yet), and marks
// the barriers of every purchase that holds or held a unit as taken, so a
// returning buyer is told so. A cancelled order is not live: its unit is
// in the stock set here, so the Redis barrier of its cancellation's branch
// is marked too, and a delivery of that branch still to come returns
// nothing more. It returns the stock it set.
//
// Messages are read before orders: a message that becomes an order between
// the two reads is then seen in both and counted once.
func Activity(ctx context.Context, a flashsale.Activity, stock flashsale.Stock, orders flashsale.OrderReader, msgs Messages) (int64, error) {
	statuses, err := msgs(ctx, a.ID)
	if err != nil {
		return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
	}
	gids, cancelled, err := orders.OrderGIDs(ctx, a.ID)
	if err != nil {
		return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
	}
	live := len(gids) - len(cancelled)
	ordered := map[string]bool{}
	for _, g := range gids {
		ordered[g] = true
	}
	taken := append([]string(nil), gids...)
	onTheWay := 0
	for gid, st := range statuses {
		if ordered[gid] {
			continue
		}
		committed := st == "submitted"
		if st == "prepared" {
			// A prepared message commits at its back-check only if its
			// barrier survived.
			b, err := stock.Barrier(ctx, a.ID, flashsale.MsgBarrier(gid))
			if err != nil {
				return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
			}
			committed = b == flashsale.BarrierTaken
		}
		if committed {
			onTheWay++
			taken = append(taken, gid)
		}
	}
	units := int64(a.Total - live - onTheWay)
	if sabotage.ReloadFromTotal {
		units = int64(a.Total) // a broken build of the chaos suite only (internal/sabotage)
	}
	if units < 0 {
		return 0, fmt.Errorf("restock activity %d: %d live orders and %d on their way exceed the total %d", a.ID, live, onTheWay, a.Total)
	}
	names := make([]string, 0, len(taken)+len(cancelled))
	for _, g := range taken {
		names = append(names, flashsale.MsgBarrier(g))
	}
	for _, g := range cancelled {
		_, user, err := flashsale.ParseGID(g)
		if err != nil {
			return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
		}
		names = append(names, flashsale.ReturnBarrier(flashsale.CancelGID(a.ID, user)))
	}
	if err := stock.Restore(ctx, a.ID, units, names); err != nil {
		return 0, fmt.Errorf("restock activity %d: %w", a.ID, err)
	}
	return units, nil
}

// Missing re-derives the stock of every activity whose counter is missing
// or stale and returns how many it re-derived.
func Missing(ctx context.Context, cat flashsale.Catalog, stock flashsale.Stock, orders flashsale.OrderReader, msgs Messages) (int, error) {
	list, err := cat.Activities(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range list {
		if _, ok, err := stock.Remaining(ctx, a.ID); err != nil {
			return n, err
		} else if ok {
			continue
		}
		if _, err := Activity(ctx, a, stock, orders, msgs); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
