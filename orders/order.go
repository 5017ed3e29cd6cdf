package orders

import (
	"errors"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

// Order is an order as the order service keeps it: the order as it is
// shown, and where its payment stands.
type Order struct {
	contract.Order
	// Payment is where the order's charge stands (PaymentNone...).
	Payment string `json:"-"`
}

// Payment states of an order: what the order service asked the payment
// provider to do, recorded in the order's row.
const (
	// PaymentNone: no charge was ever asked for.
	PaymentNone = ""
	// PaymentCharging: a charge was asked for while the order was created;
	// its outcome is not recorded yet. An order cancelled in this state may
	// have been charged, so it is refunded (Refund is a no-op when not).
	PaymentCharging = "charging"
	// PaymentCharged: charged, and the order is paid.
	PaymentCharged = "charged"
	// PaymentRefunded: a cancelled order's possible charge was refunded.
	PaymentRefunded = "refunded"
)

// DefaultPayTimeout is the time to pay of an order whose branch body names
// none (the admin API's default).
const DefaultPayTimeout = 900 * time.Second

// Outcomes of the guarded status changes.
var (
	// ErrNotCancellable is returned by a cancellation of an order that is
	// not created any more: it was paid first (or does not exist).
	ErrNotCancellable = errors.New("the order is not awaiting payment")
	// ErrCancelRolledBack is the back-check's answer for a cancellation
	// whose local step can no longer commit: the order was paid first.
	ErrCancelRolledBack = errors.New("the cancellation was rolled back")
	// ErrDBStockFull is returned when a cancelled order's unit does not fit
	// in the activity's DB stock (already at its total): the stores
	// disagree, and nothing is committed.
	ErrDBStockFull = errors.New("DB stock already at its total")
)
