package api

import "net/http"

// New returns a client of the API at base, a listener's URL
// (http://127.0.0.1:8080), that sends its requests with hc.
func New(base string, hc *http.Client) *ClientWithResponses {
	c, err := NewClientWithResponses(base, WithHTTPClient(hc))
	if err != nil {
		panic(err) // only a failing option fails it, and WithHTTPClient cannot fail
	}
	return c
}
