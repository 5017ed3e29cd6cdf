// Package payment pays orders through a payment provider and refunds the
// charges of orders cancelled before their payment was recorded.
//
// A payment charges first and then moves the order from created to paid
// with an UPDATE guarded by status = 'created'; the cancellation of an
// unpaid order (package expiry) is guarded the same way, so of the two
// exactly one changes the order. A charge that loses the race is refunded.
// Before charging, the order records that a charge is on its way
// (payment_state 'charging'), so that a charge whose outcome was never
// recorded (a timeout, a crash) is refunded once the order is cancelled.
package payment

import (
	"context"
	"log/slog"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/orders"
)

// Store is what payment needs of the order store (package sqldb).
type Store interface {
	// Order returns an order, or an Error ENotFound.
	Order(ctx context.Context, id int64) (orders.Order, error)
	// StartCharge records that a charge of a created order is on its way;
	// false when the order is not created.
	StartCharge(ctx context.Context, id int64, now time.Time) (bool, error)
	// MarkPaid moves a created order to paid; false when it was not created.
	MarkPaid(ctx context.Context, id int64, now time.Time) (bool, error)
	// MarkRefunded records the refund of a cancelled order's charge.
	MarkRefunded(ctx context.Context, id int64) error
	// RefundsDue lists cancelled orders that may hold a charge, last
	// changed before before.
	RefundsDue(ctx context.Context, before time.Time, limit int) ([]orders.Order, error)
}

// Service pays orders.
type Service struct {
	store    Store
	provider orders.PaymentProvider
	// timeout bounds every call to the provider.
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service whose calls to provider each take at most timeout.
func New(store Store, provider orders.PaymentProvider, timeout time.Duration, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store, provider: provider, timeout: timeout, now: now, log: log}
}

// Pay pays user's order id and returns it, paid. Paying a paid order
// returns it without charging again. Errors: ENotFound (no such order of
// this user), ENotPayable (cancelled, or its time to pay is over),
// EUnavailable (the provider failed or did not answer in time: the order
// stays created and can be paid again).
func (s *Service) Pay(ctx context.Context, id int64, user string) (orders.Order, error) {
	// A shopper who hangs up must not cut a charge short half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.timeout+5*time.Second)
	defer cancel()
	o, err := s.store.Order(ctx, id)
	if contract.ErrorCode(err) == contract.ENotFound || err == nil && o.UserID != user {
		return orders.Order{}, contract.Errorf(contract.ENotFound, "you have no order %d", id)
	}
	if err != nil {
		return orders.Order{}, err
	}
	if done, err := settled(o); done {
		return o, err
	}
	if o.ExpiresAt != nil && !s.now().Before(*o.ExpiresAt) {
		return orders.Order{}, contract.Errorf(contract.ENotPayable, "the time to pay order %d ended at %s; it is being cancelled", id, o.ExpiresAt.Format(time.RFC3339))
	}
	ok, err := s.store.StartCharge(ctx, id, s.now())
	if err != nil {
		return orders.Order{}, err
	}
	if !ok { // paid or cancelled since it was read
		return s.outcome(ctx, id)
	}
	cctx, ccancel := context.WithTimeout(ctx, s.timeout)
	err = s.provider.Charge(cctx, id, o.Price)
	ccancel()
	if err != nil {
		s.log.Warn("charge failed; the order stays unpaid", "order", id, "err", err)
		return orders.Order{}, contract.Errorf(contract.EUnavailable, "the payment did not go through; order %d is still unpaid, try again", id)
	}
	if _, err := s.store.MarkPaid(ctx, id, s.now()); err != nil {
		// Charged but not recorded: paying again records it (the provider
		// charges an order once); a cancellation refunds it.
		return orders.Order{}, err
	}
	o, err = s.outcome(ctx, id)
	if contract.ErrorCode(err) == contract.ENotPayable {
		// The cancellation won: this charge goes back.
		s.refund(ctx, id)
	}
	return o, err
}

// outcome reads order id after a guarded update and answers the payment:
// the order once paid, ENotPayable once cancelled.
func (s *Service) outcome(ctx context.Context, id int64) (orders.Order, error) {
	o, err := s.store.Order(ctx, id)
	if err != nil {
		return orders.Order{}, err
	}
	if done, err := settled(o); done {
		return o, err
	}
	return orders.Order{}, contract.Errorf(contract.EUnavailable, "order %d is still unpaid, try again", id)
}

// settled answers a payment of o when o is paid or cancelled.
func settled(o orders.Order) (bool, error) {
	switch o.Status {
	case orders.StatusPaid:
		return true, nil
	case orders.StatusCancelled:
		return true, contract.Errorf(contract.ENotPayable, "order %d was cancelled: its time to pay ended", o.ID)
	}
	return false, nil
}

// RefundDue refunds up to limit cancelled orders that may hold a charge,
// once no charge asked for before their cancellation can still be in
// flight, and returns how many it refunded.
func (s *Service) RefundDue(ctx context.Context, limit int) (int, error) {
	due, err := s.store.RefundsDue(ctx, s.now().Add(-2*s.timeout), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range due {
		if s.refund(ctx, o.ID) {
			n++
		}
	}
	return n, nil
}

// refund returns the charge of cancelled order id, if any, and records it.
func (s *Service) refund(ctx context.Context, id int64) bool {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.provider.Refund(rctx, id); err != nil {
		s.log.Warn("refund failed; retried later", "order", id, "err", err)
		return false
	}
	if err := s.store.MarkRefunded(ctx, id); err != nil {
		s.log.Warn("refund not recorded; retried later (refunds are idempotent)", "order", id, "err", err)
		return false
	}
	return true
}
