package statuswriter

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCode(t *testing.T) {
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, http.StatusOK},
		{"a body only", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) }, http.StatusOK},
		{"a status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }, http.StatusTeapot},
		{"two statuses", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusConflict)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusConflict},
	} {
		rec := httptest.NewRecorder()
		w := New(rec)
		c.handler(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code() != c.want || rec.Code != c.want {
			t.Errorf("%s: remembered %d, answered %d; want %d", c.name, w.Code(), rec.Code, c.want)
		}
	}
	if err := http.NewResponseController(New(httptest.NewRecorder())).Flush(); err != nil {
		t.Errorf("flush through the writer: %v", err)
	}
}
