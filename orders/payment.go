package orders

import "context"

// PaymentProvider takes and returns shoppers' money. The order id is the
// idempotency key of every call: charging one order twice charges it once.
type PaymentProvider interface {
	// Charge takes amount for order orderID. It returns nil once the order
	// is charged, by this call or an earlier one. Any error leaves the
	// outcome open (a timeout may still land): a later Charge or Refund of
	// the same order settles it.
	Charge(ctx context.Context, orderID, amount int64) error
	// Refund returns the charge of order orderID. It returns nil when the
	// order holds no charge (never charged, or already refunded).
	Refund(ctx context.Context, orderID int64) error
}
