package orders

import (
	"errors"
	"time"
)

// Order is an order as the order service keeps it and shows it.
type Order struct {
	ID         int64     `json:"id"`
	GID        string    `json:"gid"`
	ActivityID int64     `json:"activity_id"`
	UserID     string    `json:"user_id"`
	ProductID  int64     `json:"product_id"`
	Price      int64     `json:"price"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	// ExpiresAt is when an order still created gets cancelled (nil: never).
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
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
