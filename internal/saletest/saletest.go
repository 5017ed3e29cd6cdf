// Package saletest is the one harness the whole-system tests drive a sale
// through: typed clients of a running sale's listeners (internal/api),
// every exchange they carry checked against the API's document
// (internal/api/apitest), the admin token and shoppers' tokens, and the
// steps those tests take again and again: open a sale, buy, look an order
// up, pay, read the figures, wait until the sale is settled.
//
// How the processes run (the all-in-one binary, or the services each a
// process of its own) is the tests' business: a Harness needs only the
// listeners' addresses and the secrets the processes were started with.
package saletest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/reconcile"
)

// Config is where a sale answers, and the secrets it was started with.
type Config struct {
	// Shopper and Admin are the base URLs (http://127.0.0.1:8080) of
	// flashsale's shopper and admin listeners.
	Shopper, Admin string
	// Internal and Orders are the base URLs of flashsale's internal
	// listener and of the order service; "" when the test calls neither.
	Internal, Orders string
	// AdminToken and JWTSecret are FLASHSALE_ADMIN_TOKEN and
	// FLASHSALE_JWT_SECRET.
	AdminToken, JWTSecret string
	// HTTP carries every call; nil: a client with a 15 s timeout that
	// keeps up to 512 connections to a host open.
	HTTP *http.Client
	// Stores are the sale's stores, which SettleStores reads; nil when
	// the test cannot reach them.
	Stores *reconcile.Sources
}

// Harness is a running sale as a test drives it: one flashsale
// instance's listeners (At gives another's), with typed clients.
type Harness struct {
	// AdminToken and JWTSecret are the secrets the calls use: every call
	// of Admin sends AdminToken, Token mints with JWTSecret. A test whose
	// process generated its own secrets sets them.
	AdminToken, JWTSecret string
	// PayTimeout is the time to pay, in seconds, of the activities
	// NewActivity and NewActivityAt create (0: the service's default).
	PayTimeout int

	ShopperURL, AdminURL string // the listeners' base URLs
	// Shopper is the shopper listener's client: its calls carry no token
	// unless one is given (As).
	Shopper *api.ClientWithResponses
	// Admin is the admin listener's client: its calls carry AdminToken
	// unless another one is given (api.Bearer, NoToken).
	Admin *api.ClientWithResponses
	// Internal and Orders are the clients of flashsale's internal listener
	// and of the order service, nil unless Config names them.
	Internal, Orders *api.ClientWithResponses

	t       testing.TB
	http    *http.Client // what Config.HTTP says
	checked *http.Client // http, checking every exchange against the document
	stores  *reconcile.Sources
}

// New returns the harness of the sale c describes, for t: every exchange
// that does not match the document fails t.
func New(t testing.TB, c Config) *Harness {
	t.Helper()
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	}
	h := &Harness{t: t, http: hc, stores: c.Stores, AdminToken: c.AdminToken, JWTSecret: c.JWTSecret}
	h.connect(c.Shopper, c.Admin, c.Internal, c.Orders)
	return h
}

// At returns the harness of another flashsale instance of the same sale,
// its shopper and admin listeners at shopper and admin: the secrets, the
// time to pay, the stores and the HTTP client are h's; it has no Internal
// or Orders client.
func (h *Harness) At(shopper, admin string) *Harness {
	h.t.Helper()
	o := &Harness{t: h.t, http: h.http, stores: h.stores, AdminToken: h.AdminToken, JWTSecret: h.JWTSecret, PayTimeout: h.PayTimeout}
	o.connect(shopper, admin, "", "")
	return o
}

// connect makes the clients of the listeners at shopper, admin, internal
// and orders ("": none).
func (h *Harness) connect(shopper, admin, internal, orders string) {
	h.t.Helper()
	l := apitest.Listeners{}
	bases := []struct{ url, listener string }{
		{shopper, apitest.Shopper}, {admin, apitest.Admin}, {internal, apitest.Internal}, {orders, apitest.Orders},
	}
	for _, b := range bases {
		if b.url != "" {
			l[b.url] = b.listener
		}
	}
	h.checked = apitest.Client(h.t, h.http, l)
	h.ShopperURL, h.AdminURL = shopper, admin
	h.Shopper = h.client(shopper, h.checked)
	h.Admin = h.client(admin, h.checked, api.WithRequestEditorFn(h.sendAdminToken))
	if internal != "" {
		h.Internal = h.client(internal, h.checked)
	}
	if orders != "" {
		h.Orders = h.client(orders, h.checked)
	}
}

// Client returns a typed client of a listener the harness does not hold:
// the one apitest names listener (apitest.Shopper, ...) at base, every
// exchange checked against the document, over hc (nil: the harness's HTTP
// client).
func (h *Harness) Client(listener, base string, hc *http.Client) *api.ClientWithResponses {
	h.t.Helper()
	if hc == nil {
		hc = h.http
	}
	return h.client(base, apitest.Client(h.t, hc, apitest.Listeners{base: listener}))
}

func (h *Harness) client(base string, hc *http.Client, opts ...api.ClientOption) *api.ClientWithResponses {
	h.t.Helper()
	c, err := api.NewClientWithResponses(base, append(opts, api.WithHTTPClient(hc))...)
	if err != nil {
		h.t.Fatalf("client of %s: %v", base, err)
	}
	return c
}

func (h *Harness) sendAdminToken(_ context.Context, r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+h.AdminToken)
	return nil
}

// NoToken is a request editor that sends a call without credentials: a
// call of the Admin client then carries no admin token.
func NoToken(_ context.Context, r *http.Request) error {
	r.Header.Del("Authorization")
	return nil
}

// Token mints a shopper's token for user, good for an hour, with
// JWTSecret.
func (h *Harness) Token(user string) string {
	return auth.Mint(h.JWTSecret, user, time.Now(), time.Hour)
}

// As returns a request editor that sends user's token (Token).
func (h *Harness) As(user string) api.RequestEditorFn { return api.Bearer(h.Token(user)) }

// ctx is the context of the harness's calls: the test's, cancelled when
// it ends, so that no call outlives the test.
func (h *Harness) ctx() context.Context { return h.t.Context() }
