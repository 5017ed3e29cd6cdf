package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Error codes of every answer of the services. They are stable identifiers.
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
	// EAttemptUsed: the shopper's one attempt in the sale ended without a
	// unit, cut short (a 503 after dtm had its message), not for want of
	// stock.
	EAttemptUsed = "attempt_used"
	// EChallengeRequired: the sale hands its start secret out against a
	// solved proof-of-work challenge only, and none valid came.
	EChallengeRequired = "challenge_required"
	ETooLarge          = "too_large"
	EUnavailable       = "unavailable"
	ENotPayable        = "not_payable"
	// EInsufficientStock: an admin's removal of units that are not unsold.
	EInsufficientStock = "insufficient_stock"
	EInternal          = "internal"
)

// statusOf is the one table from codes to HTTP statuses.
var statusOf = map[string]int{
	EBadRequest:        http.StatusBadRequest,
	EUnauthorized:      http.StatusUnauthorized,
	ENotFound:          http.StatusNotFound,
	ENotStarted:        http.StatusForbidden,
	EEnded:             http.StatusGone,
	EBadSecret:         http.StatusForbidden,
	EBlocked:           http.StatusForbidden,
	ERateLimited:       http.StatusTooManyRequests,
	ESoldOut:           http.StatusConflict,
	EAlreadyPurchased:  http.StatusConflict,
	EAttemptUsed:       http.StatusConflict,
	EChallengeRequired: http.StatusForbidden,
	ETooLarge:          http.StatusRequestEntityTooLarge,
	EUnavailable:       http.StatusServiceUnavailable,
	ENotPayable:        http.StatusConflict,
	EInsufficientStock: http.StatusConflict,
	EInternal:          http.StatusInternalServerError,
}

// Codes returns every error code, sorted.
func Codes() []string {
	out := make([]string, 0, len(statusOf))
	for c := range statusOf {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Status returns the HTTP status of code: 500 for a code it does not know.
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the services' error: a code of the contract and a message for
// people.
type Error struct {
	Code    string
	Message string
	// Field is the JSON name of the request body's field a bad_request is
	// about, or empty when it is about none in particular.
	Field string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns a bad_request Error about the body's field (its JSON
// name), with a formatted message.
func FieldErrorf(field, format string, args ...any) *Error {
	e := Errorf(EBadRequest, format, args...)
	e.Field = field
	return e
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

// Answer returns the status and body that answer err.
func Answer(err error) (int, ErrorBody) {
	code := ErrorCode(err)
	body := ErrorBody{Error: code, Message: ErrorMessage(err)}
	var e *Error
	if errors.As(err, &e) {
		body.Field = e.Field
	}
	return Status(code), body
}

// WriteError answers err on w as an ErrorBody with its code's status.
func WriteError(w http.ResponseWriter, err error) {
	status, body := Answer(err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// ReadError turns an error answer (status and body) back into an Error:
// the body's code when it is one the contract knows, EInternal otherwise
// (a proxy's page, a crash: nothing the caller can act on).
func ReadError(status int, body []byte) *Error {
	var b ErrorBody
	if json.Unmarshal(body, &b) == nil {
		if _, known := statusOf[b.Error]; known {
			return &Error{Code: b.Error, Message: b.Message, Field: b.Field}
		}
	}
	return Errorf(EInternal, "HTTP %d: %.200s", status, body)
}

// Fail returns the status and body of an error answer of code with
// message, for handlers that answer without an error value:
// c.JSON(contract.Fail(contract.EBadRequest, "bad body")).
func Fail(code, message string) (int, ErrorBody) {
	return Status(code), ErrorBody{Error: code, Message: message}
}
