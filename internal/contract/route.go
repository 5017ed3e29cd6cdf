package contract

import "strconv"

// Routes of the internal listeners. The dtm server calls all but RoutePay
// and RouteFence, which flashsale calls; every one of them checks the call's signature
// (Key.Guard) before anything else.
const (
	// RouteCreateOrder (order service, POST OrderRequest) is a purchase
	// message's branch: it creates the order.
	RouteCreateOrder = "/internal/orders/create"
	// RoutePay (order service, POST PayRequest) pays an order;
	// PayPath(id) fills in the id.
	RoutePay = "/internal/orders/:id/pay"
	// RouteCancelQuery (order service, GET ?gid=) is a cancellation
	// message's back-check.
	RouteCancelQuery = "/internal/orders/cancel-query"
	// RoutePurchaseQuery (flashsale, GET ?gid=) is a purchase message's
	// back-check.
	RoutePurchaseQuery = "/internal/dtm/query-prepared"
	// RouteStockReturn (flashsale, POST ReturnRequest) is a cancellation
	// message's branch: the unit goes back to the Redis stock.
	RouteStockReturn = "/internal/stock/return"
	// RouteAdjustQuery (flashsale, GET ?gid=) is a stock adjustment's
	// back-check.
	RouteAdjustQuery = "/internal/dtm/stock-query"
	// RouteAdjustBranch (flashsale, POST AdjustRequest) is a stock
	// adjustment's branch.
	RouteAdjustBranch = "/internal/stock/adjust"
	// RouteFence (order service, POST FenceRequest) closes a purchase
	// message's branch for good, so that no order is ever created for its
	// gid, and tells whether one was created before: flashsale calls it
	// before returning the unit of a purchase whose message dtm failed
	// after its local step took the unit (docs/architecture.md, "When a
	// store forgets").
	RouteFence = "/internal/orders/fence"
)

// PayPath is RoutePay for order id.
func PayPath(orderID int64) string {
	return "/internal/orders/" + strconv.FormatInt(orderID, 10) + "/pay"
}

// Headers of internal calls.
const (
	// PreparedAtHeader carries when a purchase was prepared (RFC 3339 with
	// nanoseconds), sent by the dtm server with the purchase's branch
	// call: the order service measures the settlement lag from it.
	PreparedAtHeader = "Flashsale-Prepared-At"
	// SignatureHeader carries the signatures of an internal call
	// (Key.Sign), comma-separated: a message carries one for its branch
	// and one for its back-check, since the dtm server sends the same
	// headers with both.
	SignatureHeader = "Flashsale-Signature"
)
