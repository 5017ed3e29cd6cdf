package flashsale

import (
	"errors"
	"fmt"
)

// Error codes of the HTTP contract (API.md). They are stable identifiers.
const (
	EBadRequest       = "bad_request"
	EUnauthorized     = "unauthorized"
	ENotFound         = "not_found"
	ENotStarted       = "not_started"
	EEnded            = "ended"
	EBadSecret        = "bad_secret"
	EBlocked          = "blocked"
	ERateLimited      = "rate_limited"
	ESoldOut          = "sold_out"
	EAlreadyPurchased = "already_purchased"
	ETooLarge         = "too_large"
	EUnavailable      = "unavailable"
	ENotPayable       = "not_payable"
	// EInsufficientStock: an admin's removal of units that are not unsold.
	EInsufficientStock = "insufficient_stock"
	EInternal          = "internal"
)

// Error is the service's error: a code of the contract and a message for
// people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EInternal
	}
}

// ErrorMessage returns the message of the first Error in err's chain, or a
// generic text for any other error (whose details are logged, not shown).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Outcomes of a purchase's local step (Stock.Take and QueryPrepared).
var (
	// ErrStockShort: no unit left, or the counter is missing.
	ErrStockShort = Errorf(ESoldOut, "sold out")
	// ErrDuplicate: the purchase's local step already took a unit.
	ErrDuplicate = Errorf(EAlreadyPurchased, "you already bought in this sale")
	// ErrRolledBack: the back-check closed the purchase before its local
	// step ran; that attempt can no longer take a unit.
	ErrRolledBack = Errorf(EUnavailable, "the purchase timed out")
	// ErrStale: the stock counter was set under another Redis process (a
	// restart that may have lost writes) and is being re-derived; no unit
	// was taken.
	ErrStale = Errorf(EUnavailable, "the sale's stock is being restored, try again")
)
