package main

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/flashsale/flashsale/internal/api"
)

// answer is what the run records of one answer of the services: its
// status (0: none came, the connection was refused, reset or timed out)
// and its error code ("" when the body holds none).
type answer struct {
	code  int
	ecode string
}

// answered reads the answer to one call of the typed client (resp and
// err, from one of its methods without WithResponse) with parse, the
// generated parser of that operation. The status counts even when the body
// is not what the document says (it could not be read or decoded): the
// parsed answer is then nil and the error code "".
func answered[R api.Answer](resp *http.Response, err error, parse func(*http.Response) (R, error)) (answer, R) {
	var r R
	if err != nil {
		return answer{}, r
	}
	a := answer{code: resp.StatusCode}
	if r, err = parse(resp); err != nil {
		return a, r
	}
	var e api.Error
	if json.Unmarshal(api.BodyOf(r), &e) == nil {
		a.ecode = string(e.Error)
	}
	return a, r
}

// outcome names an answer in the run's tally.
func (a answer) outcome() string {
	switch {
	case a.code == 0:
		return "no answer (refused, reset or timed out)"
	case a.code == http.StatusAccepted:
		return "202 pending"
	case a.ecode == "":
		return strconv.Itoa(a.code)
	}
	return strconv.Itoa(a.code) + " " + a.ecode
}
