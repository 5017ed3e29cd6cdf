package orders

import (
	"errors"
	"fmt"
)

// Error codes of the order service's answers; the shopper-facing ones are
// those of the HTTP contract (API.md).
const (
	EBadRequest  = "bad_request"
	ENotFound    = "not_found"
	ENotPayable  = "not_payable"
	EUnavailable = "unavailable"
	EInternal    = "internal"
)

// Error is the order service's error: a code and a message for people.
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
