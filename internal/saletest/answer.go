package saletest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/flashsale/flashsale/internal/api"
)

// Transport is the error code of a call that got no answer (status 0):
// the connection failed, or the process died under it.
const Transport api.ErrorCode = "transport"

// ErrorOf returns the status of a, the answer of a call that returned err,
// and the error its body holds (zero for a status below 400). A call that
// got no answer (err) gives 0 and an Error of code Transport with err's
// text.
func ErrorOf(a api.Answer, err error) (int, api.Error) {
	if err != nil {
		return 0, api.Error{Error: Transport, Message: err.Error()}
	}
	var e api.Error
	if a.StatusCode() >= http.StatusBadRequest {
		json.Unmarshal(api.BodyOf(a), &e)
	}
	return a.StatusCode(), e
}

// Outcome is ErrorOf with the error's code alone: "" for a status below
// 400, Transport for no answer.
func Outcome(a api.Answer, err error) (int, api.ErrorCode) {
	status, e := ErrorOf(a, err)
	return status, e.Error
}

// Show renders an answer for a failure's message: its status and body.
func Show(a api.Answer) string {
	return fmt.Sprintf("%d %s", a.StatusCode(), bytes.TrimSpace(api.BodyOf(a)))
}

// JSON renders v as JSON, for a failure's message (a figure the API may
// give as null is a pointer, which %v shows as an address).
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// Got returns r, the answer of a typed client's call that returned err;
// when the call got no answer, an answer of r's type with status 0 and
// err's text as its body, so that a test reads one as it reads the other:
//
//	if r := saletest.Got(h.Admin.GetLiveWithResponse(ctx, act)); r.StatusCode() != http.StatusOK {
//		t.Fatalf("live: %s", saletest.Show(r))
//	}
func Got[R any](r *R, err error) *R {
	if err == nil {
		return r
	}
	none := new(R)
	if body := reflect.ValueOf(none).Elem().FieldByName("Body"); body.IsValid() && body.Kind() == reflect.Slice {
		body.SetBytes([]byte(err.Error()))
	}
	return none
}

// Raw sends a request the typed client cannot make, through the harness's
// checked client: method to url (a malformed path, a listener that does
// not serve the route), with body (nil: none; else sent as JSON unless an
// editor says otherwise) and editors (credentials, headers). It returns
// what ErrorOf returns of the answer. Bad bytes in the body of a routed
// call go through the typed client's ...WithBody methods instead.
func (h *Harness) Raw(method, url string, body []byte, editors ...api.RequestEditorFn) (int, api.Error) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.ctx(), method, url, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, edit := range editors {
		if err := edit(req.Context(), req); err != nil {
			h.t.Fatal(err)
		}
	}
	resp, err := h.checked.Do(req)
	if err != nil {
		return ErrorOf(nil, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	var e api.Error
	if resp.StatusCode >= http.StatusBadRequest {
		json.Unmarshal(answer, &e)
	}
	return resp.StatusCode, e
}
