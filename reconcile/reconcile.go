// Package reconcile checks the promises of a flash sale (I1-I5, docs/architecture.md)
// against the live stores: the Redis stock counter, the orders and DB stock in
// MySQL, and the purchase messages on the dtm server.
package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/elide"
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
		n += m[prepared] + m[submitted]
	}
	return n
}

// Check reads the stores and checks I1-I5 for activityID.
func Check(ctx context.Context, src Sources, activityID int64) (Report, error) {
	f, err := gather(ctx, src, activityID)
	if err != nil {
		return Report{ActivityID: activityID}, err
	}
	return judge(f), nil
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
		fmt.Fprintf(&b, "  unsettled: %d messages still prepared or submitted: gids=%s\n", len(r.Pending), strings.Join(elide.List(r.Pending, 20), ","))
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}

// String renders the violation for people, on one line: the invariant,
// the message and the first 20 ids of each kind involved.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", v.Invariant, v.Message)
	if len(v.GIDs) > 0 {
		fmt.Fprintf(&b, " gids=%s", strings.Join(elide.List(v.GIDs, 20), ","))
	}
	if len(v.OrderIDs) > 0 {
		ids := make([]string, 0, len(v.OrderIDs))
		for _, id := range v.OrderIDs {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		fmt.Fprintf(&b, " orders=%s", strings.Join(elide.List(ids, 20), ","))
	}
	if len(v.Users) > 0 {
		fmt.Fprintf(&b, " users=%s", strings.Join(elide.List(v.Users, 20), ","))
	}
	return b.String()
}
