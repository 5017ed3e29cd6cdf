package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
)

// activity is what the bench knows of an activity it created.
type activity struct {
	ID        int64
	ProductID int64
	Price     int64
	Total     int
	StartAt   time.Time
}

// shopperAPI is a client of flashsale's shopper listener.
func (s *stack) shopperAPI() *api.ClientWithResponses { return api.New(s.shopperURL(), s.hc) }

// adminAPI is a client of flashsale's admin listener.
func (s *stack) adminAPI() *api.ClientWithResponses { return api.New(s.adminURL(), s.hc) }

// newActivity creates a product and an activity of total units over
// shards (none given: one) open from start for an hour, through the admin
// API (bearer FLASHSALE_ADMIN_TOKEN).
func (s *stack) newActivity(ctx context.Context, name string, total int, start time.Time, shards ...int) (activity, error) {
	k := 1
	if len(shards) > 0 {
		k = shards[0]
	}
	p, a := api.SaleAt(name, total, k, start.UTC(), start.Add(time.Hour).UTC())
	p.Name, p.Description = "bench "+name, "a unit of the benchmark"
	a.PayTimeoutSeconds = 900
	act, err := s.adminAPI().OpenSale(ctx, p, a, api.Bearer(s.cfg.AdminToken))
	if err != nil {
		return activity{}, err
	}
	return activity{ID: act.ID, ProductID: act.Product.ID, Price: act.Price, Total: total, StartAt: start}, nil
}

// mintTokens returns bearer tokens for n users named prefix0, prefix1...
// valid for two hours: all minted before any clock starts.
func mintTokens(secret, prefix string, n int) []string {
	now := time.Now()
	out := make([]string, n)
	for i := range out {
		out[i] = auth.Mint(secret, fmt.Sprintf("%s%d", prefix, i), now, 2*time.Hour)
	}
	return out
}

// buyRequests builds each user's buy request for act with the body bodies[i]
// ("{}" when bodies is nil).
func buyRequests(host string, act int64, tokens, bodies []string) [][]byte {
	path := buyPath(act)
	out := make([][]byte, len(tokens))
	for i, t := range tokens {
		body := "{}"
		if bodies != nil {
			body = bodies[i]
		}
		out[i] = buildRequest("POST", host, path, t, body)
	}
	return out
}

// buyPath is the path of a buy of act, as the document's buy operation
// gives it (internal/api).
func buyPath(act int64) string {
	req, err := api.NewBuyRequestWithBody("/", act, nil, "application/json", nil)
	if err != nil {
		panic(err) // a constant server and an integer id: it cannot fail
	}
	return req.URL.Path
}

// orderCount counts an activity's orders.
func orderCount(ctx context.Context, db *sql.DB, act int64) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE activity_id = ?", act).Scan(&n)
	return n, err
}
