package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// Answer is what every generated response has: its status and its body as
// received.
type Answer interface {
	StatusCode() int
}

// StatusError is an answer other than the one a call wanted.
type StatusError struct {
	Op     string // the operation, as the document names it
	Status int    // the status received
	Body   string // the body received, trimmed
}

// Error names the operation, the status and the body.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Op, e.Status, e.Body)
}

// Expect returns nil when a, the generated response to op (err when the
// call failed), has status want, and otherwise an error naming what came
// back: a *StatusError for an unexpected status.
func Expect(op string, a Answer, err error, want int) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if got := a.StatusCode(); got != want {
		return &StatusError{Op: op, Status: got, Body: strings.TrimSpace(string(BodyOf(a)))}
	}
	return nil
}

// BodyOf returns the body of a generated response (its Body field), nil
// for anything else.
func BodyOf(a Answer) []byte {
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("Body")
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return nil
	}
	return f.Bytes()
}

// OpenSale creates product p, then activity a selling it (a.ProductID is
// set to the new product's id), through the admin API, and returns the
// activity. Pass Bearer(adminToken) in editors unless the client sends it.
func (c *ClientWithResponses) OpenSale(ctx context.Context, p NewProduct, a NewActivity, editors ...RequestEditorFn) (Activity, error) {
	pr, err := c.CreateProductWithResponse(ctx, p, editors...)
	if err := Expect("createProduct", pr, err, http.StatusCreated); err != nil {
		return Activity{}, err
	}
	a.ProductID = pr.JSON201.ID
	ar, err := c.CreateActivityWithResponse(ctx, a, editors...)
	if err := Expect("createActivity", ar, err, http.StatusCreated); err != nil {
		return Activity{}, err
	}
	return *ar.JSON201, nil
}

// SaleNow is the usual test and demo sale: a product called name at 5000,
// and an activity of units at 100 that opened a minute ago and closes in
// an hour, over shards Redis slots (0: one).
func SaleNow(name string, units, shards int) (NewProduct, NewActivity) {
	now := time.Now().UTC()
	return SaleAt(name, units, shards, now.Add(-time.Minute), now.Add(time.Hour))
}

// SaleAt is SaleNow's sale, open from start to end.
func SaleAt(name string, units, shards int, start, end time.Time) (NewProduct, NewActivity) {
	p := NewProduct{Name: name, Description: "a sale of " + name, Price: 5000}
	a := NewActivity{Name: name, Price: 100, Total: units, Shards: shards, StartAt: start, EndAt: end}
	return p, a
}
