// Package ordersapi is the order service's internal HTTP API as flashsale
// calls it: payment (POST /internal/orders/{id}/pay). The shopper is
// authenticated here; the order service checks that the order is theirs.
package ordersapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/flashsale"
)

// Timeout bounds a payment call: above the order service's own bound on a
// payment (a charge and a refund, at most 5 s each, and its database: 15 s).
const Timeout = 20 * time.Second

// Client calls the order service.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a Client of the order service at baseURL.
func New(baseURL string) *Client {
	return &Client{base: baseURL, hc: &http.Client{Timeout: Timeout, Transport: dtmconf.PooledTransport()}}
}

// Pay pays user's order orderID and returns it. Errors: ENotFound (no such
// order of this user), ENotPayable, EUnavailable (the order service or
// its payment provider failed: the order is still unpaid).
func (c *Client) Pay(ctx context.Context, orderID int64, user string) (flashsale.Order, error) {
	body, _ := json.Marshal(map[string]string{"user_id": user})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/internal/orders/"+strconv.FormatInt(orderID, 10)+"/pay", bytes.NewReader(body))
	if err != nil {
		return flashsale.Order{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return flashsale.Order{}, unavailable(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return flashsale.Order{}, unavailable(err)
	}
	if resp.StatusCode == http.StatusOK {
		var o flashsale.Order
		if err := json.Unmarshal(raw, &o); err != nil {
			return flashsale.Order{}, unavailable(fmt.Errorf("order service answered %s", raw))
		}
		return o, nil
	}
	var e struct{ Error, Message string }
	json.Unmarshal(raw, &e)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return flashsale.Order{}, flashsale.Errorf(flashsale.ENotFound, "no such order")
	case http.StatusConflict:
		return flashsale.Order{}, flashsale.Errorf(flashsale.ENotPayable, "%s", e.Message)
	case http.StatusServiceUnavailable:
		return flashsale.Order{}, flashsale.Errorf(flashsale.EUnavailable, "%s", e.Message)
	}
	return flashsale.Order{}, unavailable(fmt.Errorf("order service answered %s: %s", resp.Status, raw))
}

func unavailable(err error) error {
	return fmt.Errorf("%w (%v)", flashsale.Errorf(flashsale.EUnavailable, "payment is unavailable, try again; the order is still unpaid"), err)
}
