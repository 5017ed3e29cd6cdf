package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

// facts are what the stores hold about one activity's sale: gather reads
// them, judge finds the broken promises in them.
type facts struct {
	activityID int64
	// total and dbStock are activity_stock's; redisStock sums the shards'
	// counters.
	total, dbStock int
	redisStock     int64
	orders         []order
	// purchases, cancels and adjusts are the activity's messages of each
	// kind, gid -> dtm status ("" when dtm has none): every one dtm lists,
	// and every one that an order, a taken unit, a cancelled order or a
	// recorded adjustment names.
	purchases, cancels, adjusts map[string]string
	// taken, returned and adjusted are the gids whose Redis barriers say a
	// purchase took a unit, a cancellation returned one, an adjustment ran
	// (barriers).
	taken, returned, adjusted map[string]bool
	// applied are the gids of the activity's stock_adjustments rows.
	applied map[string]bool
}

type order struct {
	id     int64
	gid    string
	user   string
	status string
}

// gather reads the facts of activityID from the stores.
func gather(ctx context.Context, src Sources, activityID int64) (facts, error) {
	f := facts{activityID: activityID}
	shards, err := f.readStock(ctx, src)
	if err != nil {
		return f, err
	}
	if f.orders, err = readOrders(ctx, src.DB, activityID); err != nil {
		return f, err
	}
	if f.applied, err = readApplied(ctx, src.DB, activityID); err != nil {
		return f, err
	}
	if f.taken, f.returned, f.adjusted, err = barriers(ctx, src.Redis, activityID, shards); err != nil {
		return f, err
	}
	if err := f.readMessages(ctx, src); err != nil {
		return f, err
	}
	return f, nil
}

// readStock reads the activity's totals and its stock in MySQL and in
// every Redis shard, and returns its shards.
func (f *facts) readStock(ctx context.Context, src Sources) (shards int, err error) {
	row := src.DB.QueryRowContext(ctx, `SELECT s.total, s.stock, COALESCE(a.shards, 1) FROM activity_stock s
		LEFT JOIN activities a ON a.id = s.activity_id WHERE s.activity_id = ?`, f.activityID)
	if err := row.Scan(&f.total, &f.dbStock, &shards); err != nil {
		return 0, fmt.Errorf("activity %d DB stock: %w", f.activityID, err)
	}
	for i := range shards {
		stock, err := src.Redis.Get(ctx, contract.StockKey(f.activityID, i)).Int64()
		if err != nil {
			return 0, fmt.Errorf("activity %d Redis stock, shard %d: %w", f.activityID, i, err)
		}
		f.redisStock += stock
	}
	return shards, nil
}

// readMessages lists the activity's messages of the three kinds, then
// looks up one by one every gid the other facts name that the listing
// lacks: dtm's listing can skip transactions (its Redis store drops the
// rest of a SCAN batch once a page is full).
func (f *facts) readMessages(ctx context.Context, src Sources) error {
	purchases, cancelPrefix, adjustPrefix := contract.PurchaseGID(f.activityID, ""), contract.CancelGIDPrefix(f.activityID), contract.AdjustGIDPrefix(f.activityID)
	all, err := listMessages(ctx, src, purchases, cancelPrefix, adjustPrefix)
	if err != nil {
		return err
	}
	f.purchases, f.cancels, f.adjusts = map[string]string{}, map[string]string{}, map[string]string{}
	for gid, st := range all {
		switch {
		case strings.HasPrefix(gid, adjustPrefix):
			f.adjusts[gid] = st
		case strings.HasPrefix(gid, cancelPrefix):
			f.cancels[gid] = st
		default:
			f.purchases[gid] = st
		}
	}
	named := map[string]map[string]string{}
	for gid := range f.taken {
		named[gid] = f.purchases
	}
	for _, o := range f.orders {
		named[o.gid] = f.purchases
		if o.status == contract.OrderCancelled {
			named[contract.CancelGID(f.activityID, o.user)] = f.cancels
		}
	}
	for gid := range f.applied {
		named[gid] = f.adjusts
	}
	for gid, kind := range named {
		if _, ok := kind[gid]; !ok {
			st, err := messageStatus(ctx, src, gid)
			if err != nil {
				return err
			}
			kind[gid] = st
		}
	}
	return nil
}

func readOrders(ctx context.Context, db *sql.DB, activityID int64) ([]order, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, gid, user_id, status FROM orders WHERE activity_id = ?", activityID)
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	defer rows.Close()
	var out []order
	for rows.Next() {
		var o order
		if err := rows.Scan(&o.id, &o.gid, &o.user, &o.status); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// readApplied returns the gids of the activity's stock_adjustments rows.
func readApplied(ctx context.Context, db *sql.DB, activityID int64) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT gid FROM stock_adjustments WHERE activity_id = ?", activityID)
	if err != nil {
		return nil, fmt.Errorf("stock adjustments: %w", err)
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var gid string
		if err := rows.Scan(&gid); err != nil {
			return nil, err
		}
		applied[gid] = true
	}
	return applied, rows.Err()
}

// barriers returns, from every shard of the activity, the purchase gids
// whose local step took a unit (their barrier "<gid>-00-msg-01" holds "op"
// in some shard: a walk's links are not units), the cancellation gids whose
// branch returned the unit (their barrier "<gid>-01-action-01" is set), and
// the adjustment gids whose Redis side ran (a removal's local step, an
// addition's branch).
func barriers(ctx context.Context, rdb redis.UniversalClient, activityID int64, shards int) (taken, returned, adjusted map[string]bool, err error) {
	taken, returned, adjusted = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := range shards {
		if err := shardBarriers(ctx, rdb, activityID, i, taken, returned, adjusted); err != nil {
			return nil, nil, nil, err
		}
	}
	return taken, returned, adjusted, nil
}

// shardBarriers adds the barriers of one shard to taken, returned and
// adjusted.
func shardBarriers(ctx context.Context, rdb redis.UniversalClient, activityID int64, shard int, taken, returned, adjusted map[string]bool) error {
	prefix := contract.BarrierKey(activityID, shard, "")
	msgSuffix, returnSuffix := contract.MsgBarrier(""), contract.BranchBarrier("")
	adjustments := contract.AdjustGIDPrefix(activityID)
	err := redisconn.ScanValues(ctx, rdb, prefix, func(key, v string) {
		name := strings.TrimPrefix(key, prefix)
		if strings.HasPrefix(name, adjustments) {
			// An admin's adjustment, not a shopper's unit.
			if gid, ok := strings.CutSuffix(name, msgSuffix); ok && v == contract.BarrierTaken {
				adjusted[gid] = true
			} else if gid, ok := strings.CutSuffix(name, returnSuffix); ok {
				adjusted[gid] = true
			}
			return
		}
		if gid, ok := strings.CutSuffix(name, msgSuffix); ok && v == contract.BarrierTaken {
			taken[gid] = true
		} else if gid, ok := strings.CutSuffix(name, returnSuffix); ok {
			returned[gid] = true
		}
	})
	if err != nil {
		return fmt.Errorf("barrier keys: %w", err)
	}
	return nil
}
