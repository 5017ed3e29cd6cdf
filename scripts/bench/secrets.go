package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/api"
)

// secretSource is the step that readies each user's buy body before a
// sale's clock starts. The shopper API gives each user a start secret once
// the activity is open (GET /api/v1/activities/{id}/secret) that the buy
// must carry as {"secret": ...}.
type secretSource interface {
	// Bodies returns the buy body of each user (by token) for act, or nil
	// when the service asks for no secret: every body is then {}.
	Bodies(ctx context.Context, act int64, tokens []string) ([]string, error)
}

// httpSecrets fetches the secrets from the shopper API with conns
// concurrent requests. A service without the endpoint (404 for an activity
// the bench just created) asks for no secret.
type httpSecrets struct {
	shop  *api.ClientWithResponses // the shopper API's
	conns int
}

// errNoSecrets is returned by fetch when the endpoint does not exist.
var errNoSecrets = errors.New("no secret endpoint")

// Bodies implements secretSource.
func (h httpSecrets) Bodies(ctx context.Context, act int64, tokens []string) ([]string, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	first, err := h.fetch(ctx, act, tokens[0])
	if errors.Is(err, errNoSecrets) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bodies := make([]string, len(tokens))
	bodies[0] = first
	var next atomic.Int64
	next.Store(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(1, h.conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tokens) || ctx.Err() != nil {
					return
				}
				b, err := h.fetch(ctx, act, tokens[i])
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				bodies[i] = b
			}
		}()
	}
	wg.Wait()
	return bodies, cmpOr(firstErr, ctx.Err())
}

// fetch returns one user's buy body. An activity opening this very
// instant may still answer not_started for a moment: it is asked again.
func (h httpSecrets) fetch(ctx context.Context, act int64, token string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := h.shop.GetSecretWithResponse(ctx, act, nil, api.Bearer(token))
		switch {
		case err == nil && r.StatusCode() == http.StatusNotFound:
			return "", errNoSecrets
		case err == nil && r.StatusCode() == http.StatusForbidden && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err := api.Expect("getSecret", r, err, http.StatusOK); err != nil {
			return "", fmt.Errorf("start secret: %w", err)
		}
		if r.JSON200 == nil || r.JSON200.Secret == "" {
			return "", fmt.Errorf("start secret: empty answer for activity %d", act)
		}
		b, err := json.Marshal(api.BuyRequest{Secret: r.JSON200.Secret})
		return string(b), err
	}
}
