package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/flashsale/flashsale/internal/contract"
)

// Bearer returns a request editor that sends token as the request's bearer
// token: a shopper's JWT (securitySchemes shopperToken) or the admin token
// (adminToken). Pass it to one call, or to the client with
// WithRequestEditorFn.
func Bearer(token string) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// Signed returns a request editor that signs an internal call with key
// (securitySchemes internalSignature), as flashsale signs its calls to the
// order service.
func Signed(key contract.Key) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			r.Body.Close()
			if err != nil {
				return err
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		key.SignRequest(r, body)
		return nil
	}
}
