// Package adjust runs an admin's change of an activity's units as a DTM
// two-phase message, so that the Redis stock, the DB stock and the total
// move together, exactly once, whatever crashes (docs/architecture.md, I1, I2, I5).
//
// The Redis stock never holds more than the DB stock: a purchase takes its
// unit in Redis before the order takes it in the DB, and a cancellation
// returns it to the DB before Redis. An adjustment keeps that order:
//
//   - an addition's local step raises the total and the DB stock, behind
//     dtm's SQL barrier (mysqldb.Catalog.AddUnits); its branch adds the
//     units to Redis behind a Redis barrier (rediscache.Stock.AddUnits);
//   - a removal's local step takes the units from Redis, all or none, with
//     the purchase's own Lua step (rediscache.Stock.TakeUnits): only unsold
//     units can be removed; its branch lowers the total and the DB stock
//     behind dtm's SQL barrier (mysqldb.Catalog.RemoveUnits).
//
// The gid names the whole adjustment (contract.Adjustment), so the
// back-check and the branch need no other state, and a re-derivation of
// the Redis stock (package restock) can count removals still on their way.
package adjust

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/faultpoint"
)

// Ledger is the SQL side of adjustments (mysqldb.Catalog).
type Ledger interface {
	AddUnits(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, n, maxTotal int) error
	RemoveUnits(ctx context.Context, bb *dtmcli.BranchBarrier, activityID int64, n int) error
	AddCommitted(ctx context.Context, gid string) (bool, error)
}

// Stock is the Redis side of adjustments (rediscache.Stock).
type Stock interface {
	TakeUnits(ctx context.Context, activityID int64, barrier string, n int) error
	AddUnits(ctx context.Context, activityID int64, barrier string, n int) (bool, error)
	QueryPrepared(ctx context.Context, activityID int64, barrier string) error
}

// Config addresses the parties of an adjustment message.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr,
	// or the comma-separated bases of several dtm groups
	// (dtmclient.Groups).
	DTMServer string
	// InternalURL is this service's internal listener as the dtm server
	// reaches it: the back-check and the branch live there.
	InternalURL string
	// Key signs the message's branch and back-check.
	Key contract.Key
	// MaxTotal bounds an activity's total after an addition.
	MaxTotal int
}

// Service runs adjustments.
type Service struct {
	cfg    Config
	ledger Ledger
	stock  Stock
	hc     *http.Client
	log    *slog.Logger
}

// New returns a Service.
func New(cfg Config, ledger Ledger, stock Stock, log *slog.Logger) *Service {
	return &Service{cfg: cfg, ledger: ledger, stock: stock, hc: &http.Client{Timeout: 3 * time.Second}, log: log}
}

// Adjust runs adj and returns its gid and the message's status on the dtm
// server once it is settled or after a short wait: "succeed" when every
// store has the change, "submitted" while the branch is still on its way
// (the dtm server completes it). A request replayed with the same request
// id and delta applies nothing more and answers the first one's status.
// Errors: EInsufficientStock (a removal of units not unsold), EBadRequest
// (the total would pass MaxTotal; a request id used by an adjustment that
// failed), EUnavailable (a store or the dtm server is down: nothing changed,
// or the dtm server settles what did).
func (s *Service) Adjust(ctx context.Context, adj contract.Adjustment) (gid, status string, err error) {
	if err := adj.Validate(); err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*dtmclient.RequestTimeout*time.Second)
	defer cancel()
	gid = adj.GID()
	msg, queryURL := s.message(adj)
	var ran bool
	var local error
	err = msg.DoAndSubmit(queryURL, func(bb *dtmcli.BranchBarrier) error {
		ran = true
		faultpoint.Hit("before-adjust-local", gid)
		local = s.localStep(ctx, bb, adj)
		faultpoint.Hit("after-adjust-local", gid)
		code := contract.ErrorCode(local)
		if code == contract.EInsufficientStock || code == contract.EBadRequest || errors.Is(local, flashsale.ErrRolledBack) {
			return errors.Join(dtmcli.ErrFailure, local) // abort at once
		}
		// nil submits; anything else makes DoAndSubmit ask the back-check.
		return local
	})
	code := contract.ErrorCode(local)
	switch {
	case err == nil:
	case !ran && strings.Contains(err.Error(), dtmcli.ResultFailure):
		// dtm refuses to prepare a gid it already has, settled: a replay.
		st := s.Status(ctx, gid)
		if st == dtmcli.StatusSucceed || st == dtmcli.StatusSubmitted {
			return gid, st, nil
		}
		return gid, st, contract.Errorf(contract.EBadRequest, "request_id %q was used by an adjustment that did not apply (%s); use a new one", adj.RequestID, st)
	case !ran:
		return gid, "", fmt.Errorf("%w (%v)", contract.Errorf(contract.EUnavailable, "the dtm server is unreachable; nothing changed, try again"), err)
	case local == nil:
		// The local step committed but Submit did not get through: the
		// back-check commits the message.
		s.log.Warn("adjustment submit failed after the local step; the back-check will settle it", "gid", gid, "err", err)
	case code == contract.EInsufficientStock || code == contract.EBadRequest:
		return gid, dtmcli.StatusFailed, local // aborted, nothing changed
	default:
		// The back-check decided (a concurrent replay, a store error).
		s.log.Warn("adjustment local step", "gid", gid, "err", local)
		switch st := s.wait(ctx, gid, 3*time.Second); st {
		case dtmcli.StatusSucceed, dtmcli.StatusSubmitted:
			return gid, st, nil
		case dtmcli.StatusFailed:
			return gid, st, fmt.Errorf("%w (%v)", contract.Errorf(contract.EUnavailable, "the adjustment did not apply; try again with a new request_id"), local)
		default:
			// Still prepared: the back-check could not answer yet. A
			// retry with the same request id runs the local step again
			// behind the same barrier, so it applies at most once.
			return gid, st, fmt.Errorf("%w (%v)", contract.Errorf(contract.EUnavailable, "the adjustment's outcome is not known yet (%s); retry with the same request_id", st), local)
		}
	}
	// Submitted, or committed by the back-check: it completes. What the
	// dtm server says after a short wait is the answer, but never less
	// than what is known already.
	st := s.wait(ctx, gid, 3*time.Second)
	if st != dtmcli.StatusSucceed && st != dtmcli.StatusSubmitted {
		st = dtmcli.StatusSubmitted
		if err != nil {
			st = dtmcli.StatusPrepared
		}
	}
	return gid, st, nil
}

// message returns adj's message and its back-check's URL: all of it
// follows from the gid, so the repair rebuilds the very message.
func (s *Service) message(adj contract.Adjustment) (*dtmcli.Msg, string) {
	gid := adj.GID()
	return dtmclient.NewMsg(dtmclient.ParseGroups(s.cfg.DTMServer).For(gid), s.cfg.Key, dtmclient.MsgSpec{
		GID: gid, BranchBase: s.cfg.InternalURL, BranchRoute: contract.RouteAdjustBranch,
		Body:      contract.AdjustRequest{ActivityID: adj.ActivityID, Delta: adj.Delta},
		QueryBase: s.cfg.InternalURL, QueryRoute: contract.RouteAdjustQuery,
	})
}

// Resubmit submits adj's message again, rebuilt from its gid: the repair's
// answer to a dtm store that lost it after its local step committed. The
// branch applies once behind its barrier.
func (s *Service) Resubmit(ctx context.Context, adj contract.Adjustment) error {
	msg, _ := s.message(adj)
	msg.Context = ctx
	return msg.Submit()
}

// errStepRan: an adjustment's local step found its barrier set: it ran
// before (a concurrent twin of the request), or the back-check closed it.
// The back-check tells which.
var errStepRan = errors.New("the adjustment's local step found its barrier set")

func (s *Service) localStep(ctx context.Context, bb *dtmcli.BranchBarrier, adj contract.Adjustment) error {
	if adj.Delta > 0 {
		err := s.ledger.AddUnits(ctx, bb, adj.ActivityID, adj.Delta, s.cfg.MaxTotal)
		if errors.Is(err, dtmcli.ErrDuplicated) {
			return errStepRan
		}
		return err
	}
	err := s.stock.TakeUnits(ctx, adj.ActivityID, contract.NextBarrier(bb), -adj.Delta)
	if errors.Is(err, flashsale.ErrDuplicate) {
		return errStepRan
	}
	return err
}

// QueryPrepared is the back-check of adjustment gid: nil when its local
// step committed, flashsale.ErrRolledBack when it never will.
func (s *Service) QueryPrepared(ctx context.Context, gid string) error {
	adj, err := contract.ParseAdjustGID(gid)
	if err != nil {
		return contract.Errorf(contract.EBadRequest, "%v", err)
	}
	if adj.Delta < 0 {
		return s.stock.QueryPrepared(ctx, adj.ActivityID, contract.MsgBarrier(gid))
	}
	ok, err := s.ledger.AddCommitted(ctx, gid)
	switch {
	case err != nil:
		return err
	case !ok:
		return flashsale.ErrRolledBack
	}
	return nil
}

// Branch runs the branch of adjustment bb.Gid, whose body is req: an
// addition's units arrive in Redis, a removal's leave the DB. A redelivery
// changes nothing.
func (s *Service) Branch(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.AdjustRequest) error {
	adj, err := contract.ParseAdjustGID(bb.Gid)
	if err != nil || adj.ActivityID != req.ActivityID || adj.Delta != req.Delta || bb.BranchID != contract.FirstBranch {
		return contract.Errorf(contract.EBadRequest, "the body does not match the adjustment's gid")
	}
	if adj.Delta > 0 {
		_, err := s.stock.AddUnits(ctx, adj.ActivityID, contract.BranchBarrier(bb.Gid), adj.Delta)
		return err
	}
	return s.ledger.RemoveUnits(ctx, bb, adj.ActivityID, -adj.Delta)
}

// wait polls the message's status until it is final or d has passed.
func (s *Service) wait(ctx context.Context, gid string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		st := s.Status(ctx, gid)
		if st == dtmcli.StatusSucceed || st == dtmcli.StatusFailed || time.Now().After(deadline) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Status asks the dtm server for the status of message gid, as
// dtmclient.Describe renders it: the status, "none" when it has no such
// message, or "unknown (<reason>)" when it cannot be asked.
func (s *Service) Status(ctx context.Context, gid string) string {
	return dtmclient.Describe(dtmclient.MessageStatus(ctx, s.hc, dtmclient.ParseGroups(s.cfg.DTMServer), gid))
}
