package contract

import "time"

// Order statuses, as the orders table, the order service and the shopper
// API name them.
const (
	OrderCreated   = "created"
	OrderPaid      = "paid"
	OrderCancelled = "cancelled"
)

// Order is an order on the wire: the order service's answer to RoutePay,
// and the shopper API's order, which flashsale reads from the orders table.
type Order struct {
	ID         int64     `json:"id"`
	GID        string    `json:"gid"`
	ActivityID int64     `json:"activity_id"`
	UserID     string    `json:"user_id"`
	ProductID  int64     `json:"product_id"`
	Price      int64     `json:"price"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	// ExpiresAt is when the order, unless paid, is cancelled (nil: never).
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
}
