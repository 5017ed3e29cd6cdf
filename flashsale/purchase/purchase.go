// Package purchase runs a purchase as a DTM two-phase message: the local step
// is one Redis Lua call (barrier + stock decrement), the message's branch
// creates the order in the order service, and the back-check settles a
// purchase whose process died between the two.
package purchase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/faultpoint"
)

// Config addresses the parties of a purchase message.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr,
	// or the comma-separated bases of several dtm groups
	// (dtmconf.Groups).
	DTMServer string
	// OrdersURL is the order service's base URL, as the dtm server reaches it.
	OrdersURL string
	// InternalURL is this service's internal listener, as the dtm server
	// reaches it: the back-check lives there.
	InternalURL string
	// Key signs the message's branch and back-check.
	Key contract.Key
	// Observer, when set, receives the duration of each step of a purchase.
	Observer Observer
}

// Observer receives the durations of a purchase's steps (package metrics).
type Observer interface {
	// ObserveLua receives the duration of the Lua call (the local step).
	ObserveLua(d time.Duration)
	// ObserveDTM receives the duration of a call to the dtm server:
	// "prepare", "submit", "abort", or "query" (the client's own
	// back-check, then submit or abort).
	ObserveDTM(call string, d time.Duration)
}

// Service buys units.
type Service struct {
	cfg   Config
	dtm   dtmconf.Groups
	stock flashsale.Stock
	log   *slog.Logger
}

// New returns a Service. It gives the dtm client's HTTP clients a pooled
// transport (see dtmconf.PooledTransport).
func New(cfg Config, stock flashsale.Stock, log *slog.Logger) *Service {
	tr := dtmconf.PooledTransport()
	for _, sec := range []int{0, dtmconf.RequestTimeout} {
		dtmimp.GetRestyClient2(time.Duration(sec) * time.Second).SetTransport(tr)
	}
	return &Service{cfg: cfg, dtm: dtmconf.ParseGroups(cfg.DTMServer), stock: stock, log: log}
}

// Buy runs user's purchase of one unit of a, counted in the rate windows
// first. It returns the message's gid when the unit is taken and the order
// is on its way (created by the dtm server's call to the order service),
// or an error: a *flashsale.OverLimit when a window is over its limit,
// else an Error: ESoldOut, EAlreadyPurchased, EUnavailable.
func (s *Service) Buy(ctx context.Context, a flashsale.Activity, user string, windows []flashsale.RateWindow) (string, error) {
	// A shopper who hangs up must not cut the protocol short half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*dtmconf.RequestTimeout*time.Second)
	defer cancel()
	gid := contract.PurchaseGID(a.ID, user)
	// One Redis call counts the buy in its rate windows and reads the
	// stock: most sold-out requests are turned away here, before any dtm
	// work; only the Lua step decides success.
	chk, err := s.stock.CheckBuy(ctx, a.ID, gid, windows)
	switch {
	case err != nil:
		return "", unavailable(err)
	case chk.Wait > 0:
		return "", &flashsale.OverLimit{Wait: chk.Wait}
	case !chk.Loaded:
		return "", contract.Errorf(contract.EUnavailable, "the sale's stock is not loaded")
	case chk.Units <= 0 && chk.Shards <= 1:
		// With several shards, the walk of the Lua step finds out.
		return "", flashsale.ErrStockShort
	}

	msg, queryURL := dtmconf.NewMsg(s.dtm.For(gid), s.cfg.Key, dtmconf.MsgSpec{
		GID: gid, BranchBase: s.cfg.OrdersURL, BranchRoute: contract.RouteCreateOrder,
		Body: contract.OrderRequest{
			ActivityID: a.ID, UserID: user, ProductID: a.Product.ID, Price: a.Price,
			PayTimeoutSeconds: a.PayTimeoutSeconds,
		},
		QueryBase: s.cfg.InternalURL, QueryRoute: contract.RoutePurchaseQuery,
		Headers: BranchHeaders(ctx, time.Now()),
	})
	var ran bool
	var local error
	t := newTimer(ctx, s.cfg.Observer)
	err = msg.DoAndSubmit(queryURL, func(bb *dtmcli.BranchBarrier) error {
		ran = true
		t.lap("prepare")
		faultpoint.Hit("before-lua", gid)
		local = s.stock.Take(ctx, a.ID, contract.NextBarrier(bb))
		t.lap("lua")
		faultpoint.Hit("after-lua", gid)
		if errors.Is(local, flashsale.ErrStockShort) || errors.Is(local, flashsale.ErrRolledBack) || errors.Is(local, flashsale.ErrClosed) {
			// ErrFailure makes DoAndSubmit abort the message at once.
			return errors.Join(dtmcli.ErrFailure, local)
		}
		// nil submits; ErrDuplicate and Redis errors make DoAndSubmit ask
		// the back-check, which submits or aborts as the barrier says.
		return local
	})
	t.finish(ran, local)
	switch {
	case err == nil:
		return gid, nil
	case !ran:
		return "", s.prepareFailed(ctx, a, gid, err)
	case local == nil:
		// The unit is taken but Submit did not get through: the message
		// stays prepared and the back-check commits it.
		s.log.Warn("submit failed after the local step; the back-check will settle it", "gid", gid, "err", err)
		return gid, nil
	case errors.Is(local, flashsale.ErrStockShort), errors.Is(local, flashsale.ErrDuplicate), errors.Is(local, flashsale.ErrRolledBack), errors.Is(local, flashsale.ErrClosed):
		return "", local
	default:
		// The Lua call's outcome is unknown (a Redis error): the barrier
		// tells whether the unit was taken.
		s.log.Warn("local step failed", "gid", gid, "err", local)
		if st, berr := s.stock.Barrier(ctx, a.ID, contract.MsgBarrier(gid)); berr == nil && st == contract.BarrierTaken {
			return gid, nil
		}
		return "", unavailable(local)
	}
}

// prepareFailed maps a failed Prepare. dtm answers a Prepare of a gid that is
// no longer prepared with HTTP 409 and "FAILURE" in the body (the client
// returns only the body's text): this user's one attempt in the sale has
// already ended. Anything else means dtm was not reached: no stock was taken.
func (s *Service) prepareFailed(ctx context.Context, a flashsale.Activity, gid string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) || !strings.Contains(err.Error(), dtmcli.ResultFailure) {
		return unavailable(err)
	}
	st, berr := s.stock.Barrier(ctx, a.ID, contract.MsgBarrier(gid))
	if berr != nil {
		return unavailable(berr)
	}
	if st == contract.BarrierTaken {
		return flashsale.ErrDuplicate
	}
	return contract.Errorf(contract.EAttemptUsed, "your attempt in this sale was cut short without a unit; each shopper has one attempt")
}

// QueryPrepared is the back-check of the purchase message gid.
func (s *Service) QueryPrepared(ctx context.Context, gid string) error {
	act, _, err := contract.ParsePurchaseGID(gid)
	if err != nil {
		return contract.Errorf(contract.EBadRequest, "%v", err)
	}
	return s.stock.QueryPrepared(ctx, act, contract.MsgBarrier(gid))
}

// Pending reports whether user's purchase in activity took a unit (its
// order may not exist yet).
func (s *Service) Pending(ctx context.Context, activityID int64, user string) (bool, error) {
	st, err := s.stock.Barrier(ctx, activityID, contract.MsgBarrier(contract.PurchaseGID(activityID, user)))
	return st == contract.BarrierTaken, err
}

func unavailable(err error) error {
	return fmt.Errorf("%w (%v)", contract.Errorf(contract.EUnavailable, "the sale is unavailable, try again"), err)
}
