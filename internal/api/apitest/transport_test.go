package apitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the failures the transport reports.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// answer is a service that answers every request with status and body.
func answer(t *testing.T, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTransport: the transport passes exchanges that match the document
// and reports those that do not, without changing what the caller gets.
func TestTransport(t *testing.T) {
	const adminOnly = "Bearer t"
	for _, tc := range []struct {
		name, listener, method, path, auth, reqBody string
		status                                      int
		body                                        string
		fails                                       string // "" when it passes
	}{
		{"Documented", Shopper, "GET", "/healthz", "", "", 200, `{"status":"ok"}`, ""},
		{"DocumentedError", Admin, "GET", "/admin/v1/activities/7/stats", adminOnly, "", 404, `{"error":"not_found","message":"no such activity"}`, ""},
		{"FieldNotDocumented", Shopper, "GET", "/healthz", "", "", 200, `{"status":"ok","uptime":3}`, "uptime"},
		{"WrongEnum", Shopper, "GET", "/healthz", "", "", 200, `{"status":"fine"}`, "status"},
		{"UnknownErrorCode", Shopper, "GET", "/api/v1/activities/7", "", "", 404, `{"error":"missing","message":"x"}`, "error"},
		{"StatusNotDocumented", Shopper, "GET", "/api/v1/time", "", "", 418, `{"error":"internal","message":"x"}`, "status is not supported"},
		{"NotRoutedRefused", Shopper, "GET", "/internal/orders/fence", "", "", 404, `{"error":"not_found","message":"no such endpoint"}`, ""},
		{"NotRoutedServed", Shopper, "POST", "/internal/orders/fence", "", `{"gid":"flash-sale-1-a"}`, 200, `{"ordered":false}`, "does not route it on the shopper listener"},
		{"AcceptedBadRequest", Admin, "POST", "/admin/v1/products", adminOnly, `{"price":5}`, 201,
			`{"id":1,"name":"","description":"","price":5,"image_url":""}`, "accepted a request the document refuses"},
		{"RefusedBadRequest", Admin, "POST", "/admin/v1/products", adminOnly, `{"price":5}`, 400, `{"error":"bad_request","message":"name"}`, ""},
		{"AcceptedWithoutCredentials", Shopper, "POST", "/api/v1/activities/7/buy", "", `{}`, 202, `{"status":"pending","gid":"flash-sale-7-a"}`, "no bearer token"},
		{"OtherHost", "", "GET", "/api/dtmsvr/query", "", "", 200, `{"anything":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := answer(t, tc.status, tc.body)
			l := Listeners{}
			if tc.listener != "" {
				l[base] = tc.listener
			}
			rec := &recorder{TB: t}
			c := &http.Client{Transport: NewTransport(rec, nil, l)}
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.reqBody))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(got) != tc.body {
				t.Errorf("the caller got %d %s, want %d %s", resp.StatusCode, got, tc.status, tc.body)
			}
			switch {
			case tc.fails == "" && len(rec.failures) > 0:
				t.Errorf("reported %q", rec.failures)
			case tc.fails != "" && (len(rec.failures) != 1 || !strings.Contains(rec.failures[0], tc.fails)):
				t.Errorf("reported %q, want one failure saying %q", rec.failures, tc.fails)
			}
		})
	}
}
