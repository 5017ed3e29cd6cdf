// Package orders holds the domain of the order service: orders, the branch
// request of a purchase message, payment, error codes, and the store
// interface. Adapters: sqldb (gorm + dtm's SQL barrier), httpapi (the dtm
// branch, payment, the cancellation's back-check), paysim (a simulated
// payment provider). Services: payment (pay, refund), expiry (cancel the
// orders left unpaid). Wiring: app.
package orders

import (
	"context"
	"errors"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
)

// Order statuses (the contract's).
const (
	StatusCreated   = contract.OrderCreated
	StatusPaid      = contract.OrderPaid
	StatusCancelled = contract.OrderCancelled
)

// ErrNoDBStock is returned when an activity's DB stock cannot cover an order
// that Redis granted: the stores disagree. The branch is retried, never
// failed, and reconciliation reports the disagreement.
var ErrNoDBStock = errors.New("DB stock exhausted for a granted unit")

// Store creates orders.
type Store interface {
	// Create runs the branch of purchase message bb exactly once: in one
	// transaction, dtm's barrier row, the order and the DB stock
	// decrement. A redelivered branch commits nothing and returns nil.
	Create(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.OrderRequest) error
	// Fence closes the branch of purchase message gid for good, so that
	// no order is ever created for it, and reports whether one was
	// created before.
	Fence(ctx context.Context, gid string) (ordered bool, err error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}
