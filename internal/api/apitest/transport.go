package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Listeners maps the base URL of each listener a test talks to
// ("http://127.0.0.1:8080") to its name: Shopper, Admin, Internal or
// Orders.
type Listeners map[string]string

// Client returns a copy of c whose transport validates every exchange
// (NewTransport).
func Client(t testing.TB, c *http.Client, l Listeners) *http.Client {
	v := *c
	v.Transport = NewTransport(t, c.Transport, l)
	return &v
}

// NewTransport returns a transport that carries requests over base
// (http.DefaultTransport when nil) and fails t when an exchange does not
// match the document:
//
//   - an answer whose status the operation does not document, or whose
//     headers or body do not match it (a field it does not name included);
//   - a request the service accepted (2xx) that the document would refuse
//     (parameters, body, credentials);
//   - on a listener of l, a request the document does not route there
//     that is answered anything but 4xx.
//
// Requests to other hosts are checked against the operations of every
// listener, and pass unchecked when none routes them (the dtm server's
// API, say). A mismatch fails t, not the request: the caller gets the
// answer as it came.
func NewTransport(t testing.TB, base http.RoundTripper, l Listeners) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{t: t, base: base, listeners: l, seen: map[string]bool{}}
}

// Transport is an http.RoundTripper that validates every exchange it
// carries against the document (NewTransport).
type Transport struct {
	t         testing.TB
	base      http.RoundTripper
	listeners Listeners

	mu   sync.Mutex
	seen map[string]bool // the operations carried, "METHOD /path"
}

// Seen returns the documented operations the transport carried, each as
// "METHOD /path" (Operations), sorted.
func (tr *Transport) Seen() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]string, 0, len(tr.seen))
	for op := range tr.seen {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// RoundTrip carries req over the base transport and validates the
// exchange; a mismatch fails the test, not the request.
func (tr *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := tr.base.RoundTrip(withBody(req, body))
	if err != nil {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if err != nil {
		return resp, nil // the caller meets the error reading the body
	}
	if err := tr.check(req, body, resp, answer); err != nil {
		tr.t.Errorf("%s %s answered %d: does not match internal/api/openapi.yaml: %v\nanswer: %.500s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, err, answer)
	}
	return resp, nil
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// check validates one exchange: req with body, answered resp with answer.
func (tr *Transport) check(req *http.Request, body []byte, resp *http.Response, answer []byte) error {
	s, err := loadSpec()
	if err != nil {
		return err
	}
	listener, known := tr.listeners[origin(req.URL)]
	strictRoute, params, err := s.strict[listener].FindRoute(withBody(req, body))
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		if known && (resp.StatusCode < 400 || resp.StatusCode > 499) {
			return fmt.Errorf("the document does not route it on the %s listener, yet it was not refused", listener)
		}
		return nil
	}
	if err != nil {
		return err
	}
	tr.mu.Lock()
	tr.seen[req.Method+" "+strictRoute.Path] = true
	tr.mu.Unlock()
	ctx := context.Background()
	reqIn := &openapi3filter.RequestValidationInput{
		Request: withBody(req, body), PathParams: params, Route: strictRoute,
		Options: &openapi3filter.Options{AuthenticationFunc: credentialsGiven, MultiError: true},
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(answer)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil // a refused request may well not match the document
	}
	route, params, err := s.lenient[listener].FindRoute(withBody(req, body))
	if err != nil {
		return err
	}
	reqIn.Request, reqIn.PathParams, reqIn.Route = asJSON(withBody(req, body), len(body), route.Operation), params, route
	if err := openapi3filter.ValidateRequest(ctx, reqIn); err != nil {
		return fmt.Errorf("the service accepted a request the document refuses: %w", err)
	}
	return nil
}

// origin is u's scheme and host, as Listeners keys them.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// withBody returns a copy of req that reads body.
func withBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r
}

// asJSON returns req marked as JSON when it has a body (of size bytes)
// and op takes a JSON one: the services read a body as JSON whatever its
// Content-Type says (curl -d sends a form's).
func asJSON(req *http.Request, size int, op *openapi3.Operation) *http.Request {
	if size == 0 || op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
		return req
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// credentialsGiven checks that a request carries the credentials a
// security scheme names; whether they are good is the service's to say.
func credentialsGiven(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s, h := in.SecurityScheme, in.RequestValidationInput.Request.Header
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if v := h.Get("Authorization"); len(v) < 8 || !strings.EqualFold(v[:7], "bearer ") {
			return errors.New("no bearer token")
		}
	case s.Type == "apiKey" && s.In == openapi3.ParameterInHeader:
		if h.Get(s.Name) == "" {
			return fmt.Errorf("no %s header", s.Name)
		}
	default:
		return fmt.Errorf("security scheme %q is not checked", in.SecuritySchemeName)
	}
	return nil
}

// NewClient returns a typed client of the listener at server whose
// exchanges, carried by c's transport, are validated (NewTransport).
func NewClient(t testing.TB, server string, c *http.Client, l Listeners) *api.ClientWithResponses {
	cl, err := api.NewClientWithResponses(server, api.WithHTTPClient(Client(t, c, l)))
	if err != nil {
		t.Fatal(err) // only a server URL that does not parse
	}
	return cl
}
