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
	m, err := LookUp(ctx, hc, groups, gid)
	return m.Status, err
}

// Message is what a dtm group holds of one transaction.
type Message struct {
	// Status is one of dtmcli's Status constants, or NoMessage.
	Status string
	// Group is the API base of the group that has it ("" for NoMessage).
	Group string
	// Created is when it was prepared (zero for NoMessage).
	Created time.Time
}

// LookUp returns what dtm holds of one transaction, gid, asking the
// groups as MessageStatus does. hc may be nil.
func LookUp(ctx context.Context, hc *http.Client, groups Groups, gid string) (Message, error) {
	if hc == nil {
		hc = queryClient
	}
	home := groups.For(gid)
	m, err := groupMessage(ctx, hc, home, gid)
	for _, g := range groups {
		if err != nil || m.Status != NoMessage {
			break
		}
		if g != home {
			m, err = groupMessage(ctx, hc, g, gid)
		}
	}
	return m, err
}

// groupMessage returns what one dtm group holds of gid.
func groupMessage(ctx context.Context, hc *http.Client, server, gid string) (Message, error) {
	var body struct {
		Transaction *struct {
			Status     string    `json:"status"`
			CreateTime time.Time `json:"create_time"`
		} `json:"transaction"`
	}
	if err := httpjson.Get(ctx, hc, server+"/query?"+url.Values{"gid": {gid}}.Encode(), &body); err != nil {
		return Message{}, fmt.Errorf("dtm transaction %s: %w", gid, err)
	}
	if body.Transaction == nil {
		return Message{}, nil
	}
	return Message{Status: body.Transaction.Status, Group: server, Created: body.Transaction.CreateTime}, nil
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
