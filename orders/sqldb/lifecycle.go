package sqldb

import (
	"context"
	"errors"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// An order's life after its creation: paid or cancelled, each an UPDATE
// guarded by status = 'created', so that of a payment and a cancellation
// racing for one order exactly one changes it.

// Order returns order id, or an Error ENotFound.
func (s *Store) Order(ctx context.Context, id int64) (orders.Order, error) {
	var row contract.OrderRow
	if err := s.db.WithContext(ctx).Take(&row, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return orders.Order{}, contract.Errorf(contract.ENotFound, "no order %d", id)
		}
		return orders.Order{}, err
	}
	return order(row), nil
}

// StartCharge records, while order id is still created, that a charge is
// about to be asked for. It reports whether the order was created.
func (s *Store) StartCharge(ctx context.Context, id int64, now time.Time) (bool, error) {
	ok, err := s.guarded(ctx, "UPDATE orders SET payment_state = ?, updated_at = ? WHERE id = ? AND status = ?",
		orders.PaymentCharging, now.UTC(), id, orders.StatusCreated)
	if ok || err != nil {
		return ok, err
	}
	// MySQL counts the rows an UPDATE changed, not those it matched: a
	// concurrent StartCharge of the same order in the same millisecond
	// leaves this one nothing to change.
	var n int64
	err = s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM orders WHERE id = ? AND status = ? AND payment_state = ?",
		id, orders.StatusCreated, orders.PaymentCharging).Scan(&n).Error
	return n == 1, err
}

// MarkPaid moves order id from created to paid. It reports whether it did:
// false when the order was no longer created (paid by a concurrent request,
// or cancelled).
func (s *Store) MarkPaid(ctx context.Context, id int64, now time.Time) (bool, error) {
	return s.guarded(ctx, "UPDATE orders SET status = ?, payment_state = ?, paid_at = ?, updated_at = ? WHERE id = ? AND status = ?",
		orders.StatusPaid, orders.PaymentCharged, now.UTC(), now.UTC(), id, orders.StatusCreated)
}

// MarkRefunded records that the possible charge of cancelled order id was
// refunded.
func (s *Store) MarkRefunded(ctx context.Context, id int64) error {
	_, err := s.guarded(ctx, "UPDATE orders SET payment_state = ? WHERE id = ? AND status = ? AND payment_state = ?",
		orders.PaymentRefunded, id, orders.StatusCancelled, orders.PaymentCharging)
	return err
}

// RefundsDue returns up to limit cancelled orders that may hold a charge
// (payment_state charging) and were last changed before before.
func (s *Store) RefundsDue(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return s.list(ctx, limit, "status = ? AND payment_state = ? AND updated_at < ?",
		orders.StatusCancelled, orders.PaymentCharging, before.UTC())
}

// Expired returns up to limit orders still created whose time to pay ended
// at or before now, the oldest first.
func (s *Store) Expired(ctx context.Context, now time.Time, limit int) ([]orders.Order, error) {
	return s.list(ctx, limit, "status = ? AND expires_at <= ?", orders.StatusCreated, now.UTC())
}

// Cancelled lists the orders cancelled since since, at most limit.
func (s *Store) Cancelled(ctx context.Context, since time.Time, limit int) ([]orders.Order, error) {
	return s.list(ctx, limit, "status = ? AND updated_at >= ?", orders.StatusCancelled, since.UTC())
}

func (s *Store) list(ctx context.Context, limit int, where string, args ...any) ([]orders.Order, error) {
	var rows []contract.OrderRow
	if err := s.db.WithContext(ctx).Where(where, args...).Order("expires_at, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]orders.Order, len(rows))
	for i, r := range rows {
		out[i] = order(r)
	}
	return out, nil
}

// guarded runs a guarded UPDATE and reports whether it changed a row.
func (s *Store) guarded(ctx context.Context, q string, args ...any) (bool, error) {
	res := s.db.WithContext(ctx).Exec(q, args...)
	return res.RowsAffected == 1, res.Error
}

// order is the row as the order service knows it: the order and the
// state of its charge.
func order(r contract.OrderRow) orders.Order {
	return orders.Order{Order: r.Order(), Payment: r.PaymentState}
}
