package contract

// OrderRequest is the body of a purchase message's branch, POSTed by the
// dtm server to the order service's RouteCreateOrder; the gid comes with
// dtm's query parameters and must name the same activity and user.
type OrderRequest struct {
	ActivityID int64  `json:"activity_id"`
	UserID     string `json:"user_id"`
	ProductID  int64  `json:"product_id"`
	Price      int64  `json:"price"`
	// PayTimeoutSeconds is the activity's time to pay: the order service
	// cancels the order this long after creating it, unless it is paid.
	// 0 (a body from before the field existed) means the default, 900 s.
	PayTimeoutSeconds int `json:"pay_timeout_seconds,omitempty"`
}

// ReturnRequest is the body of a cancellation message's branch, POSTed by
// the dtm server to flashsale's RouteStockReturn; the gid comes with dtm's
// query parameters and must name the same activity and user.
type ReturnRequest struct {
	ActivityID int64  `json:"activity_id"`
	UserID     string `json:"user_id"`
}

// AdjustRequest is the body of a stock adjustment's branch, POSTed by the
// dtm server to flashsale's RouteAdjustBranch; the gid comes with dtm's
// query parameters and must name the same adjustment.
type AdjustRequest struct {
	ActivityID int64 `json:"activity_id"`
	Delta      int   `json:"delta"`
}

// PayRequest is the body of flashsale's call to the order service's
// RoutePay: the shopper flashsale authenticated.
type PayRequest struct {
	UserID string `json:"user_id"`
}

// FenceRequest is the body of flashsale's call to the order service's
// RouteFence.
type FenceRequest struct {
	GID string `json:"gid"`
}

// FenceAnswer is the order service's answer to RouteFence: Ordered is true
// when the branch created the order before the fence (the purchase stands),
// false when no order exists for the gid and none ever will.
type FenceAnswer struct {
	Ordered bool `json:"ordered"`
}

// ErrorBody is every error answer of every listener, public or internal:
// {"error":"<code>","message":"<text>"}, and "field" when a bad_request is
// about one field of the request's body.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// DTMResult is the body of a 200 or 409 answer to a call from the dtm
// server: dtm reads the status code, and this body names the outcome the
// way dtm's own examples do. No other body sent to dtm contains the words
// dtm looks for in bodies ("FAILURE", "ONGOING").
type DTMResult struct {
	Result string `json:"dtm_result"`
}

// Outcomes of DTMResult.
var (
	DTMSuccess = DTMResult{Result: "SUCCESS"}
	DTMFailure = DTMResult{Result: "FAILURE"}
)
