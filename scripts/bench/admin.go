package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
)

// activity is what the bench knows of an activity it created.
type activity struct {
	ID        int64
	ProductID int64
	Price     int64
	Total     int
	StartAt   time.Time
}

// callJSON sends a JSON request with a bearer token and decodes a JSON
// answer into out (when not nil). It returns the status.
func callJSON(ctx context.Context, hc *http.Client, method, url, token string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w (%.200s)", method, url, err, raw)
		}
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %.300s", method, url, resp.Status, raw)
	}
	return resp.StatusCode, nil
}

// newActivity creates a product and an activity of total units over
// shards (none given: one) open from start for an hour, through the admin
// API (bearer FLASHSALE_ADMIN_TOKEN).
func (s *stack) newActivity(ctx context.Context, name string, total int, start time.Time, shards ...int) (activity, error) {
	k := 1
	if len(shards) > 0 {
		k = shards[0]
	}
	var p struct {
		ID int64 `json:"id"`
	}
	if _, err := callJSON(ctx, s.hc, "POST", s.adminURL()+"/admin/v1/products", s.cfg.AdminToken, map[string]any{
		"name": "bench " + name, "description": "a unit of the benchmark", "price": 5000, "image_url": "",
	}, &p); err != nil {
		return activity{}, fmt.Errorf("create product: %w", err)
	}
	var a struct {
		ID int64 `json:"id"`
	}
	if _, err := callJSON(ctx, s.hc, "POST", s.adminURL()+"/admin/v1/activities", s.cfg.AdminToken, map[string]any{
		"name": name, "product_id": p.ID, "price": 100, "total": total,
		"start_at": start.UTC().Format(time.RFC3339Nano), "end_at": start.Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"pay_timeout_seconds": 900, "shards": k,
	}, &a); err != nil {
		return activity{}, fmt.Errorf("create activity: %w", err)
	}
	return activity{ID: a.ID, ProductID: p.ID, Price: 100, Total: total, StartAt: start}, nil
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
	path := fmt.Sprintf("/api/v1/activities/%d/buy", act)
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

// orderCount counts an activity's orders.
func orderCount(ctx context.Context, db *sql.DB, act int64) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE activity_id = ?", act).Scan(&n)
	return n, err
}
