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
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/faultpoint"
)

// Config addresses the parties of a purchase message.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr,
	// or the comma-separated bases of several dtm groups
	// (dtmclient.Groups).
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
	// Orders fences and re-runs purchase branches for the repair.
	Orders Fencer
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
	dtm   dtmclient.Groups
	stock flashsale.Stock
	log   *slog.Logger
}

// New returns a Service. It gives the dtm client's HTTP clients a pooled
// transport (see dtmclient.PooledTransport).
func New(cfg Config, stock flashsale.Stock, log *slog.Logger) *Service {
	tr := dtmclient.PooledTransport()
	for _, sec := range []int{0, dtmclient.RequestTimeout} {
		dtmimp.GetRestyClient2(time.Duration(sec) * time.Second).SetTransport(tr)
	}
	return &Service{cfg: cfg, dtm: dtmclient.ParseGroups(cfg.DTMServer), stock: stock, log: log}
}

// Buy runs user's purchase of one unit of a, counted in the rate windows
// first. It returns the message's gid when the unit is taken and the order
// is on its way (created by the dtm server's call to the order service),
// or an error: a *flashsale.OverLimit when a window is over its limit,
// else an Error: ESoldOut, EAlreadyPurchased, EUnavailable.
func (s *Service) Buy(ctx context.Context, a flashsale.Activity, user string, windows []flashsale.RateWindow) (string, error) {
	// A shopper who hangs up must not cut the protocol short half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*dtmclient.RequestTimeout*time.Second)
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

	msg, queryURL := s.message(a, user, BranchHeaders(ctx, time.Now()))
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
	case local == nil && strings.Contains(err.Error(), dtmcli.ResultFailure):
		// dtm refused the Submit: the message is no longer prepared. The
		// repair may have submitted it first (dtm's store lost the
		// Prepare), or someone who reached dtm's API aborted it.
		return s.submitRefused(ctx, a, gid, err)
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
	return errAttemptUsed
}

// message returns user's purchase message in a, and its back-check's URL.
// Everything in it but headers follows from the gid and the activity, so
// the repair rebuilds the very message (body and signatures) the buy sent.
func (s *Service) message(a flashsale.Activity, user string, headers map[string]string) (*dtmcli.Msg, string) {
	gid := contract.PurchaseGID(a.ID, user)
	return dtmclient.NewMsg(s.dtm.For(gid), s.cfg.Key, dtmclient.MsgSpec{
		GID: gid, BranchBase: s.cfg.OrdersURL, BranchRoute: contract.RouteCreateOrder,
		Body:      orderRequest(a, user),
		QueryBase: s.cfg.InternalURL, QueryRoute: contract.RoutePurchaseQuery,
		Headers: headers,
	})
}

// orderRequest is the body of user's purchase branch in a.
func orderRequest(a flashsale.Activity, user string) contract.OrderRequest {
	return contract.OrderRequest{
		ActivityID: a.ID, UserID: user, ProductID: a.Product.ID, Price: a.Price,
		PayTimeoutSeconds: a.PayTimeoutSeconds,
	}
}

// errAttemptUsed answers a shopper whose one attempt ended without a unit.
var errAttemptUsed = contract.Errorf(contract.EAttemptUsed, "your attempt in this sale was cut short without a unit; each shopper has one attempt")

// submitRefused answers a buy whose Submit dtm refused after the local
// step took the unit. A message dtm has submitted or finished stands (202);
// a failed one will never create its order, so its unit is put back
// (Compensate) and the shopper told that the attempt was cut short.
func (s *Service) submitRefused(ctx context.Context, a flashsale.Activity, gid string, err error) (string, error) {
	st, qerr := dtmclient.MessageStatus(ctx, nil, s.dtm, gid)
	if qerr != nil || st != dtmcli.StatusFailed {
		s.log.Warn("submit refused after the local step; the message stands", "gid", gid, "status", st, "err", err)
		return gid, nil
	}
	_, user, _ := contract.ParsePurchaseGID(gid)
	if returned, cerr := s.Compensate(ctx, a, user); cerr != nil {
		s.log.Warn("submit refused: dtm failed the message after the unit was taken; the repair will return it", "gid", gid, "err", cerr)
	} else if returned {
		s.log.Warn("submit refused: dtm failed the message after the unit was taken; the unit is back", "gid", gid)
	}
	return "", errAttemptUsed
}

// Resubmit submits user's purchase message in a again, rebuilt from its
// gid: the repair's answer to a dtm store that lost it after its local
// step took the unit. dtm accepts the Submit of a gid it does not know,
// and the branch creates the order once behind its barrier.
func (s *Service) Resubmit(ctx context.Context, a flashsale.Activity, user string) error {
	msg, _ := s.message(a, user, BranchHeaders(ctx, time.Now()))
	msg.Context = ctx
	return msg.Submit()
}

// Fencer closes a purchase's branch at the order service (ordersapi).
type Fencer interface {
	Fence(ctx context.Context, gid string) (ordered bool, err error)
	CreateOrder(ctx context.Context, gid string, req contract.OrderRequest) error
}

// Compensate undoes the local step of user's purchase in a, whose message
// dtm failed: it first fences the branch at the order service, so that no
// order can be created for it any more, then, unless the order exists
// already, puts the unit back and closes the barrier. It reports whether
// the unit came back.
func (s *Service) Compensate(ctx context.Context, a flashsale.Activity, user string) (bool, error) {
	if s.cfg.Orders == nil {
		return false, errors.New("no order service to fence the branch")
	}
	gid := contract.PurchaseGID(a.ID, user)
	ordered, err := s.cfg.Orders.Fence(ctx, gid)
	if err != nil || ordered {
		return false, err
	}
	return s.stock.Compensate(ctx, a.ID, contract.MsgBarrier(gid), 1)
}

// Recreate makes the branch call of user's purchase in a, whose message
// succeeded, again: the order service creates the order its database lost
// (with its barrier row), and nothing when it has them.
func (s *Service) Recreate(ctx context.Context, a flashsale.Activity, user string) error {
	if s.cfg.Orders == nil {
		return errors.New("no order service")
	}
	return s.cfg.Orders.CreateOrder(ctx, contract.PurchaseGID(a.ID, user), orderRequest(a, user))
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
