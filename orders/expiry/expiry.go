// Package expiry cancels the orders left unpaid past their time to pay.
//
// Each cancellation is a DTM two-phase message, gid
// "flash-sale-cancel-<activity>-<user>" (one per order). Its local step,
// in the orders database behind dtm's SQL barrier, moves the order from
// created to cancelled (guarded by status, so a payment racing it either
// wins or loses as a whole) and puts the unit back in the DB stock. Its one
// branch, flashsale's contract.RouteStockReturn, puts the unit back in
// Redis behind a Redis barrier. A canceller that dies between the two is
// settled by the back-check, this service's
// contract.RouteCancelQuery, which commits the message, or performs
// the local step itself when it never ran and the order's time to pay is
// over (sqldb.Store.CancelQuery). A back-check that finds the order still
// payable fails the message and cancels nothing: the canceller starts a
// cancellation only after the time to pay, so that message is not its.
package expiry

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/faultpoint"
	"github.com/flashsale/flashsale/orders"
	"golang.org/x/sync/errgroup"
)

// Store is what the canceller needs of the order store (package sqldb).
type Store interface {
	// Expired lists created orders whose time to pay ended by now.
	Expired(ctx context.Context, now time.Time, limit int) ([]orders.Order, error)
	// Cancel is a cancellation's local step (see sqldb.Store.Cancel).
	Cancel(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, userID string, now time.Time) error
	// Cancelled lists the orders cancelled since since (the repair).
	Cancelled(ctx context.Context, since time.Time, limit int) ([]orders.Order, error)
	// CancelQuery is a cancellation's back-check (see sqldb.Store.CancelQuery).
	CancelQuery(ctx context.Context, gid string, activityID int64, userID string, now time.Time) error
}

// Config addresses the parties of a cancellation message.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr,
	// or the comma-separated bases of several dtm groups
	// (dtmclient.Groups).
	DTMServer string
	// FlashsaleInternalURL is flashsale's internal listener as the dtm
	// server reaches it: the branch (contract.RouteStockReturn) lives there.
	FlashsaleInternalURL string
	// URL is this service's base URL as the dtm server reaches it: the
	// back-check (contract.RouteCancelQuery) lives there.
	URL string
	// Key signs the message's branch and back-check.
	Key contract.Key
	// Batch bounds the orders cancelled per pass.
	Batch int
	// Parallel bounds the cancellations in flight.
	Parallel int
}

// Canceller cancels expired orders.
type Canceller struct {
	cfg   Config
	store Store
	now   func() time.Time
	log   *slog.Logger

	repairMu sync.Mutex
	settled  map[string]bool // cancellations dtm said succeeded since the last full repair
	lastFull time.Time       // when the last full repair started
}

// New returns a Canceller.
func New(cfg Config, store Store, now func() time.Time, log *slog.Logger) *Canceller {
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	return &Canceller{cfg: cfg, store: store, now: now, log: log}
}

// CancelExpired cancels the orders whose time to pay has ended (up to
// Batch of them) and returns how many it cancelled. An order paid in the
// meantime is left paid. A cancellation that fails half-way is settled by
// the dtm server (the back-check) or by a later pass.
func (c *Canceller) CancelExpired(ctx context.Context) (int, error) {
	due, err := c.store.Expired(ctx, c.now(), c.cfg.Batch)
	if err != nil {
		return 0, err
	}
	var g errgroup.Group
	g.SetLimit(c.cfg.Parallel)
	done := make([]bool, len(due))
	for i, o := range due {
		g.Go(func() error {
			err := c.Cancel(ctx, o)
			switch {
			case err == nil:
				done[i] = true
			case errors.Is(err, orders.ErrNotCancellable):
				c.log.Info("order paid before its cancellation", "order", o.ID)
			default:
				c.log.Warn("cancellation not finished; dtm's back-check or the next pass settles it", "order", o.ID, "err", err)
			}
			return nil
		})
	}
	g.Wait()
	n := 0
	for _, d := range done {
		if d {
			n++
		}
	}
	return n, nil
}

// Cancel runs the cancellation of o as a two-phase message. It returns nil
// once the order is cancelled and the message submitted,
// orders.ErrNotCancellable when the order was paid first (the message is
// aborted), or another error when the outcome is left to the back-check.
func (c *Canceller) Cancel(ctx context.Context, o orders.Order) error {
	// A pass cut short by shutdown must not stop a message half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*dtmclient.RequestTimeout*time.Second)
	defer cancel()
	gid := contract.CancelGID(o.ActivityID, o.UserID)
	msg, queryURL := c.message(o)
	ran := false
	err := msg.DoAndSubmit(queryURL, func(bb *dtmcli.BranchBarrier) error {
		ran = true
		faultpoint.Hit("cancel-before-local", gid)
		err := c.store.Cancel(ctx, bb, o.ActivityID, o.UserID, c.now())
		if errors.Is(err, orders.ErrNotCancellable) {
			// ErrFailure makes DoAndSubmit abort the message at once.
			return errors.Join(dtmcli.ErrFailure, err)
		}
		if err == nil {
			faultpoint.Hit("cancel-after-local", gid)
		}
		// Any other error makes DoAndSubmit ask the back-check, which
		// commits the message or does the step itself.
		return err
	})
	if err != nil && !ran && strings.Contains(err.Error(), dtmcli.ResultFailure) {
		return c.rollForward(ctx, o, gid, err)
	}
	return err
}

// rollForward settles the cancellation of o whose Prepare dtm refused: the
// gid is finished. When dtm says it succeeded, its branch returned the unit
// to Redis, and the order still created means that the database lost the
// local step (a failover to a replica that lacked it): the local step is
// applied again, behind its barrier, and the order is cancelled as dtm
// already says. Otherwise err stands.
func (c *Canceller) rollForward(ctx context.Context, o orders.Order, gid string, err error) error {
	st, qerr := dtmclient.MessageStatus(ctx, nil, dtmclient.ParseGroups(c.cfg.DTMServer), gid)
	if qerr != nil || st != dtmcli.StatusSucceed {
		return err
	}
	bb := &dtmcli.BranchBarrier{TransType: "msg", Gid: gid, BranchID: contract.LocalBranch, Op: "msg"}
	if cerr := c.store.Cancel(ctx, bb, o.ActivityID, o.UserID, c.now()); cerr != nil && !errors.Is(cerr, dtmcli.ErrDuplicated) {
		return cerr
	}
	c.log.Warn("repaired a message a store forgot", "gid", gid, "kind", "cancellation_reapplied", "order", o.ID)
	return nil
}

// QueryPrepared is the back-check of cancellation message gid: nil commits
// it (the local step ran, or it runs it now on an order whose time to pay
// ended by c.now), orders.ErrCancelRolledBack fails it (the order was paid,
// is still payable, or does not exist); an Error EBadRequest names a gid
// that is no cancellation.
func (c *Canceller) QueryPrepared(ctx context.Context, gid string) error {
	act, user, err := contract.ParseCancelGID(gid)
	if err != nil {
		return contract.Errorf(contract.EBadRequest, "%v", err)
	}
	return c.store.CancelQuery(ctx, gid, act, user, c.now())
}
