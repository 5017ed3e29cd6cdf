// Package ordersapi is the order service's internal HTTP API as flashsale
// calls it: payment (contract.RoutePay), and for the repair of what a
// store forgot, the fence of a purchase's branch (contract.RouteFence) and
// the branch itself (contract.RouteCreateOrder). The shopper is authenticated
// here; the order service checks that the order is theirs. Every call is
// signed with the services' internal key.
package ordersapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// Timeout bounds a payment call: above the order service's own bound on a
// payment (a charge and a refund, at most 5 s each, and its database: 15 s).
const Timeout = 20 * time.Second

// Client calls the order service.
type Client struct {
	base string
	key  contract.Key
	hc   *http.Client
}

// New returns a Client of the order service at baseURL, signing its calls
// under key.
func New(baseURL string, key contract.Key) *Client {
	return &Client{base: baseURL, key: key, hc: &http.Client{Timeout: Timeout, Transport: dtmclient.PooledTransport()}}
}

// Pay pays user's order orderID and returns it. Errors: ENotFound (no such
// order of this user), ENotPayable, EUnavailable (the order service or
// its payment provider failed: the order is still unpaid).
func (c *Client) Pay(ctx context.Context, orderID int64, user string) (contract.Order, error) {
	body, _ := json.Marshal(contract.PayRequest{UserID: user})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+contract.PayPath(orderID), bytes.NewReader(body))
	if err != nil {
		return contract.Order{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.key.SignRequest(req, body)
	resp, err := c.hc.Do(req)
	if err != nil {
		return contract.Order{}, unavailable(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return contract.Order{}, unavailable(err)
	}
	if resp.StatusCode == http.StatusOK {
		var o contract.Order
		if err := json.Unmarshal(raw, &o); err != nil {
			return contract.Order{}, unavailable(fmt.Errorf("order service answered %s", raw))
		}
		return o, nil
	}
	switch e := contract.ReadError(resp.StatusCode, raw); e.Code {
	case contract.ENotFound, contract.ENotPayable, contract.EUnavailable:
		return contract.Order{}, e
	default:
		// Anything else (a bad request, a refused signature, an
		// internal error) is this service's or the order service's fault,
		// not the shopper's: the order is still unpaid.
		return contract.Order{}, unavailable(fmt.Errorf("order service answered %s: %s", resp.Status, raw))
	}
}

func unavailable(err error) error {
	return fmt.Errorf("%w (%v)", contract.Errorf(contract.EUnavailable, "payment is unavailable, try again; the order is still unpaid"), err)
}

// Fence closes the branch of purchase message gid for good, so that no
// order is ever created for it (contract.RouteFence), and reports whether
// the order was created before.
func (c *Client) Fence(ctx context.Context, gid string) (ordered bool, err error) {
	body, _ := json.Marshal(contract.FenceRequest{GID: gid})
	var ans contract.FenceAnswer
	if err := c.post(ctx, contract.RouteFence, body, &ans); err != nil {
		return false, fmt.Errorf("fence %s: %w", gid, err)
	}
	return ans.Ordered, nil
}

// CreateOrder makes the call the dtm server makes for the branch of
// purchase message gid, signed as the message signs it: the order is
// created unless its barrier row says the branch ran (or was fenced).
// The repair uses it for a message dtm knows as succeeded whose order the
// database lost.
func (c *Client) CreateOrder(ctx context.Context, gid string, req contract.OrderRequest) error {
	body, _ := json.Marshal(req)
	q := url.Values{"gid": {gid}, "trans_type": {"msg"}, "branch_id": {contract.FirstBranch}, "op": {"action"}}
	return c.post(ctx, contract.RouteCreateOrder+"?"+q.Encode(), body, nil)
}

// post sends a signed POST of body to route and decodes a 200's answer
// into out (when not nil).
func (c *Client) post(ctx context.Context, route string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+route, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c.key.SignRequest(req, body)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("order service answered %s: %s", resp.Status, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
