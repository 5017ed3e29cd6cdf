package dtmclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/httpjson"
)

// ListMessages lists the transactions of every group whose gid starts
// with one of prefixes, as gid -> status. dtm's Redis store drops the rest
// of a SCAN batch once a page is full, so pages are asked far larger than
// any sale, which makes each one complete; a reader that must see a given
// gid asks MessageStatus as well. hc may be nil.
func ListMessages(ctx context.Context, hc *http.Client, groups Groups, prefixes ...string) (map[string]string, error) {
	return list(ctx, hc, groups, listing{prefixes: prefixes})
}

// ListSignedMessages is ListMessages without the messages that key did not
// sign: whoever reaches dtm's API can register a message under one of the
// project's gids, and the branch calls of such a message are refused for
// ever (unsigned), so it stays submitted; a re-derivation of the stock
// that counted it would keep a unit off sale for nothing. A message of
// the services carries the signature of its back-check in its branch
// headers (NewMsg), over its gid and its back-check's path.
func ListSignedMessages(ctx context.Context, hc *http.Client, groups Groups, key contract.Key, prefixes ...string) (map[string]string, error) {
	return list(ctx, hc, groups, listing{prefixes: prefixes, keep: func(t listed) bool {
		return key.SignedMessage(t.Gid, urlPath(t.QueryPrepared), t.BranchHeaders[contract.SignatureHeader])
	}})
}

// ListUnsettled is ListMessages of the transactions still prepared or
// submitted only. dtm filters them itself, so the answer stays small
// however many settled transactions the groups hold.
func ListUnsettled(ctx context.Context, hc *http.Client, groups Groups, prefixes ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, status := range []string{dtmcli.StatusPrepared, dtmcli.StatusSubmitted} {
		some, err := list(ctx, hc, groups, listing{prefixes: prefixes, status: status})
		if err != nil {
			return nil, err
		}
		for gid, st := range some {
			out[gid] = st
		}
	}
	return out, nil
}

// listing selects transactions: those whose gid starts with one of
// prefixes, of status (any when ""), that keep keeps (all when nil).
type listing struct {
	prefixes []string
	status   string
	keep     func(listed) bool
}

// listed is a transaction as dtm's listing shows it.
type listed struct {
	Gid           string            `json:"gid"`
	Status        string            `json:"status"`
	QueryPrepared string            `json:"query_prepared"`
	BranchHeaders map[string]string `json:"branch_headers"`
}

// selects reports whether l selects t.
func (l listing) selects(t listed) bool {
	for _, prefix := range l.prefixes {
		if strings.HasPrefix(t.Gid, prefix) {
			return l.keep == nil || l.keep(t)
		}
	}
	return false
}

func list(ctx context.Context, hc *http.Client, groups Groups, l listing) (map[string]string, error) {
	if hc == nil {
		hc = queryClient
	}
	out := map[string]string{}
	for _, server := range groups {
		err := listGroup(ctx, hc, server, l.status, func(t listed) {
			if l.selects(t) {
				out[t.Gid] = t.Status
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listGroup calls visit with every transaction of one dtm group of status
// (any when "").
func listGroup(ctx context.Context, hc *http.Client, server, status string, visit func(listed)) error {
	position := ""
	for page := 0; page < 100000; page++ {
		q := url.Values{"limit": {"1000000"}, "position": {position}}
		if status != "" {
			q.Set("status", status)
		}
		var body struct {
			Transactions []listed `json:"transactions"`
			NextPosition string   `json:"next_position"`
		}
		if err := httpjson.Get(ctx, hc, server+"/all?"+q.Encode(), &body); err != nil {
			return fmt.Errorf("dtm transactions at %s: %w", server, err)
		}
		for _, t := range body.Transactions {
			visit(t)
		}
		if body.NextPosition == "" || len(body.Transactions) == 0 {
			return nil
		}
		position = body.NextPosition
	}
	return fmt.Errorf("dtm transactions at %s: too many pages", server)
}
