package dtmclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/flashsale/flashsale/internal/httpjson"
)

// NoMessage is the status of a gid that no dtm group has: the empty
// string, so that a gid missing from a listing (ListMessages's map) reads
// as MessageStatus answers it.
const NoMessage = ""

// queryClient is the HTTP client of the status and listing queries when
// the caller gives none.
var queryClient = &http.Client{Timeout: 10 * time.Second}

// MessageStatus returns dtm's status of one transaction, gid: one of
// dtmcli's Status constants, or NoMessage when no group has it. It asks
// gid's group first, then the others (a gid written before a group was
// added). hc may be nil.
func MessageStatus(ctx context.Context, hc *http.Client, groups Groups, gid string) (string, error) {
	if hc == nil {
		hc = queryClient
	}
	home := groups.For(gid)
	st, err := groupStatus(ctx, hc, home, gid)
	for _, g := range groups {
		if err != nil || st != NoMessage {
			break
		}
		if g != home {
			st, err = groupStatus(ctx, hc, g, gid)
		}
	}
	return st, err
}

// groupStatus returns the status of gid in one dtm group.
func groupStatus(ctx context.Context, hc *http.Client, server, gid string) (string, error) {
	var body struct {
		Transaction *struct {
			Status string `json:"status"`
		} `json:"transaction"`
	}
	if err := httpjson.Get(ctx, hc, server+"/query?"+url.Values{"gid": {gid}}.Encode(), &body); err != nil {
		return NoMessage, fmt.Errorf("dtm transaction %s: %w", gid, err)
	}
	if body.Transaction == nil {
		return NoMessage, nil
	}
	return body.Transaction.Status, nil
}

// Describe renders an answer of MessageStatus for people: the status,
// "none" for NoMessage, or "unknown (<err>)" when dtm could not be asked.
// Every status the services and the scripts show goes through it.
func Describe(status string, err error) string {
	switch {
	case err != nil:
		return "unknown (" + err.Error() + ")"
	case status == NoMessage:
		return "none"
	}
	return status
}
