package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// openSale creates a product and an activity of units, open from now for
// an hour, through the admin API of whichever instance answers (faults may
// be under way), and returns the activity id.
func (s *shop) openSale(ctx context.Context, name string, units int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last string
	for try := 0; ; try++ {
		inst := try % 2
		if id, err := s.createSale(ctx, inst, name, units); err == nil {
			return id, nil
		} else {
			last = err.Error()
		}
		if !pause(ctx, 500*time.Millisecond) {
			return 0, fmt.Errorf("open sale %s: %s", name, last)
		}
	}
}

func (s *shop) createSale(ctx context.Context, inst int, name string, units int) (int64, error) {
	base := s.st.adminURL(inst)
	code, p, _ := s.call(ctx, http.MethodPost, base+"/admin/v1/products", adminToken,
		map[string]any{"name": name, "description": "a chaos sale", "price": 5000, "image_url": "https://example.invalid/p.png"})
	if code != http.StatusCreated {
		return 0, fmt.Errorf("create product on instance %d: %d %v", inst+1, code, p)
	}
	now := time.Now().UTC()
	code, a, _ := s.call(ctx, http.MethodPost, base+"/admin/v1/activities", adminToken, map[string]any{
		"name": name, "product_id": p["id"], "price": 100, "total": units,
		"start_at": now.Add(-time.Minute).Format(time.RFC3339Nano), "end_at": now.Add(time.Hour).Format(time.RFC3339Nano),
		"pay_timeout_seconds": 3600,
	})
	if code != http.StatusCreated {
		return 0, fmt.Errorf("create activity on instance %d: %d %v", inst+1, code, a)
	}
	id, _ := a["id"].(float64)
	return int64(id), nil
}
