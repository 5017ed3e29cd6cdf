// Package reconcile checks the promises of a flash sale (I1-I5, docs/architecture.md)
// against the live stores: the Redis stock counter, the orders and DB stock in
// MySQL, and the purchase messages on the dtm server.
package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

// Sources are the live stores of a sale.
type Sources struct {
	Redis redis.UniversalClient
	DB    *sql.DB
	// DTM is the dtm server's API base, http://host:36789/api/dtmsvr, or
	// the comma-separated bases of several dtm groups (dtmclient.Groups):
	// every group is read.
	DTM  string
	HTTP *http.Client
}

// Violation is one broken promise, with the ids involved.
type Violation struct {
	Invariant string   `json:"invariant"`
	Message   string   `json:"message"`
	GIDs      []string `json:"gids,omitempty"`
	OrderIDs  []int64  `json:"order_ids,omitempty"`
	Users     []string `json:"users,omitempty"`
}

// Report is the outcome of one check.
type Report struct {
	ActivityID int64 `json:"activity_id"`
	Total      int   `json:"total"`
	RedisStock int64 `json:"redis_stock"`
	DBStock    int   `json:"db_stock"`
	LiveOrders int   `json:"live_orders"`
	// Messages counts the activity's purchase messages by dtm status.
	Messages map[string]int `json:"messages"`
	// Cancels counts the activity's cancellation messages by dtm status.
	Cancels map[string]int `json:"cancels"`
	// Adjustments counts the activity's stock adjustments (an admin's
	// change of its units) by dtm status.
	Adjustments map[string]int `json:"adjustments"`
	// Pending names the messages still prepared or submitted, sorted.
	Pending    []string    `json:"pending,omitempty"`
	Violations []Violation `json:"violations"`
}

// OK reports whether no promise is broken.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// Unsettled counts the messages, purchases and cancellations, still
// prepared or submitted: the promises hold only once there are none.
func (r Report) Unsettled() int {
	n := 0
	for _, m := range []map[string]int{r.Messages, r.Cancels, r.Adjustments} {
		n += m[dtmcli.StatusPrepared] + m[dtmcli.StatusSubmitted]
	}
	return n
}

type order struct {
	id     int64
	gid    string
	user   string
	status string
}

// Check reads the stores and checks I1-I5 for activityID.
func Check(ctx context.Context, src Sources, activityID int64) (Report, error) {
	r := Report{ActivityID: activityID, Messages: map[string]int{}, Cancels: map[string]int{}, Adjustments: map[string]int{}, Violations: []Violation{}}
	var shards int
	row := src.DB.QueryRowContext(ctx, `SELECT s.total, s.stock, COALESCE(a.shards, 1) FROM activity_stock s
		LEFT JOIN activities a ON a.id = s.activity_id WHERE s.activity_id = ?`, activityID)
	if err := row.Scan(&r.Total, &r.DBStock, &shards); err != nil {
		return r, fmt.Errorf("activity %d DB stock: %w", activityID, err)
	}
	for i := range shards {
		stock, err := src.Redis.Get(ctx, contract.StockKey(activityID, i)).Int64()
		if err != nil {
			return r, fmt.Errorf("activity %d Redis stock, shard %d: %w", activityID, i, err)
		}
		r.RedisStock += stock
	}
	orders, err := readOrders(ctx, src.DB, activityID)
	if err != nil {
		return r, err
	}
	purchases, cancelPrefix, adjustPrefix := contract.PurchaseGID(activityID, ""), contract.CancelGIDPrefix(activityID), contract.AdjustGIDPrefix(activityID)
	all, err := listMessages(ctx, src, purchases, cancelPrefix, adjustPrefix)
	if err != nil {
		return r, err
	}
	msgs, cancels, adjusts := map[string]string{}, map[string]string{}, map[string]string{}
	for gid, st := range all {
		switch {
		case strings.HasPrefix(gid, adjustPrefix):
			adjusts[gid] = st
		case strings.HasPrefix(gid, cancelPrefix):
			cancels[gid] = st
		default:
			msgs[gid] = st
		}
	}
	taken, returned, adjusted, err := barriers(ctx, src.Redis, activityID, shards)
	if err != nil {
		return r, err
	}
	// dtm's listing can skip transactions (its Redis store drops the rest of
	// a SCAN batch once a page is full), so every gid that an order or a
	// taken barrier names is also looked up one by one.
	lookup := map[string]bool{}
	for gid := range taken {
		lookup[gid] = true
	}
	for _, o := range orders {
		lookup[o.gid] = true
	}
	for gid := range lookup {
		if _, ok := msgs[gid]; !ok {
			st, err := messageStatus(ctx, src, gid)
			if err != nil {
				return r, err
			}
			msgs[gid] = st
		}
	}
	for gid, st := range msgs {
		r.Messages[st]++
		if st == dtmcli.StatusPrepared || st == dtmcli.StatusSubmitted {
			r.Pending = append(r.Pending, gid)
		}
	}
	sort.Strings(r.Pending)
	byUser := map[string][]order{}
	byGID := map[string]order{}
	for _, o := range orders {
		if o.status != "cancelled" {
			r.LiveOrders++
		}
		byUser[o.user] = append(byUser[o.user], o)
		byGID[o.gid] = o
	}
	add := func(v Violation) { r.Violations = append(r.Violations, v) }

	if r.LiveOrders > r.Total {
		add(Violation{Invariant: "I1", Message: fmt.Sprintf("oversell: %d live orders for %d units", r.LiveOrders, r.Total)})
	}
	if int(r.RedisStock)+r.LiveOrders != r.Total {
		add(Violation{Invariant: "I2", Message: fmt.Sprintf("Redis stock %d + live orders %d != total %d", r.RedisStock, r.LiveOrders, r.Total)})
	}
	for user, os := range byUser {
		if len(os) > 1 {
			v := Violation{Invariant: "I3", Message: fmt.Sprintf("user %s has %d orders", user, len(os)), Users: []string{user}}
			for _, o := range os {
				v.OrderIDs = append(v.OrderIDs, o.id)
			}
			add(v)
		}
	}
	var noOrder, noMsg, lostUnit []string
	for gid := range taken {
		if _, ok := byGID[gid]; !ok && msgs[gid] != dtmcli.StatusPrepared && msgs[gid] != dtmcli.StatusSubmitted {
			lostUnit = append(lostUnit, gid)
		}
	}
	var noMsgIDs []int64
	for gid, st := range msgs {
		if _, ok := byGID[gid]; st == dtmcli.StatusSucceed && !ok {
			noOrder = append(noOrder, gid)
		}
	}
	for gid, o := range byGID {
		if msgs[gid] != dtmcli.StatusSucceed {
			noMsg = append(noMsg, gid)
			noMsgIDs = append(noMsgIDs, o.id)
		}
	}
	sort.Strings(noOrder)
	sort.Strings(noMsg)
	sort.Strings(lostUnit)
	if len(lostUnit) > 0 {
		add(Violation{Invariant: "I4", Message: fmt.Sprintf("%d units taken in Redis without an order", len(lostUnit)), GIDs: lostUnit})
	}
	if len(noOrder) > 0 {
		add(Violation{Invariant: "I4", Message: fmt.Sprintf("%d succeeded messages without an order", len(noOrder)), GIDs: noOrder})
	}
	if len(noMsg) > 0 {
		add(Violation{Invariant: "I4", Message: fmt.Sprintf("%d orders without a succeeded message", len(noMsg)), GIDs: noMsg, OrderIDs: noMsgIDs})
	}
	if r.DBStock != r.Total-r.LiveOrders {
		add(Violation{Invariant: "I5", Message: fmt.Sprintf("DB stock %d != total %d - live orders %d", r.DBStock, r.Total, r.LiveOrders)})
	}
	if err := checkCancels(ctx, src, &r, orders, cancels, returned); err != nil {
		return r, err
	}
	if err := checkAdjustments(ctx, src, &r, adjusts, adjusted); err != nil {
		return r, err
	}
	return r, nil
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

// listMessages lists the transactions of every dtm group whose gid starts
// with one of prefixes, as gid -> status.
func listMessages(ctx context.Context, src Sources, prefixes ...string) (map[string]string, error) {
	return dtmclient.ListMessages(ctx, httpClient(src), dtmclient.ParseGroups(src.DTM), prefixes...)
}

// messageStatus returns the dtm status of one transaction, gid
// (dtmclient.MessageStatus).
func messageStatus(ctx context.Context, src Sources, gid string) (string, error) {
	return dtmclient.MessageStatus(ctx, httpClient(src), dtmclient.ParseGroups(src.DTM), gid)
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

func httpClient(src Sources) *http.Client {
	if src.HTTP != nil {
		return src.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// String renders the report for people: one line of figures, then one line
// per violation.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "activity %d: total %d, Redis stock %d, DB stock %d, live orders %d, messages %v\n",
		r.ActivityID, r.Total, r.RedisStock, r.DBStock, r.LiveOrders, r.Messages)
	if len(r.Pending) > 0 {
		fmt.Fprintf(&b, "  unsettled: %d messages still prepared or submitted: gids=%s\n", len(r.Pending), strings.Join(first(r.Pending, 20), ","))
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s %s", v.Invariant, v.Message)
		if len(v.GIDs) > 0 {
			fmt.Fprintf(&b, " gids=%s", strings.Join(first(v.GIDs, 20), ","))
		}
		if len(v.OrderIDs) > 0 {
			ids := make([]string, 0, len(v.OrderIDs))
			for _, id := range v.OrderIDs {
				ids = append(ids, strconv.FormatInt(id, 10))
			}
			fmt.Fprintf(&b, " orders=%s", strings.Join(first(ids, 20), ","))
		}
		if len(v.Users) > 0 {
			fmt.Fprintf(&b, " users=%s", strings.Join(v.Users, ","))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("...(%d more)", len(s)-n))
	}
	return s
}
