package dtmconf

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/httpjson"
)

// queryClient is the HTTP client of the status and listing queries when
// the caller gives none.
var queryClient = &http.Client{Timeout: 10 * time.Second}

// MessageStatus returns dtm's status of one transaction, gid: "prepared",
// "submitted", "succeed", "failed", "aborting" (dtmcli's Status...
// constants), or "" when no group has it. It asks gid's group first, then
// the others (a gid written before a group was added). hc may be nil.
func MessageStatus(ctx context.Context, hc *http.Client, groups Groups, gid string) (string, error) {
	if hc == nil {
		hc = queryClient
	}
	home := groups.For(gid)
	st, err := groupStatus(ctx, hc, home, gid)
	for _, g := range groups {
		if err != nil || st != "" {
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
		return "", fmt.Errorf("dtm transaction %s: %w", gid, err)
	}
	if body.Transaction == nil {
		return "", nil
	}
	return body.Transaction.Status, nil
}

// ListMessages lists the transactions of every group whose gid starts
// with one of prefixes, as gid -> status. dtm's Redis store drops the rest
// of a SCAN batch once a page is full, so pages are asked far larger than
// any sale, which makes each one complete; a reader that must see a given
// gid asks MessageStatus as well. hc may be nil.
func ListMessages(ctx context.Context, hc *http.Client, groups Groups, prefixes ...string) (map[string]string, error) {
	return listMessages(ctx, hc, groups, prefixes, nil)
}

// ListSignedMessages is ListMessages without the messages that key did not
// sign: whoever reaches dtm's API can register a message under one of the
// project's gids, and the branch calls of such a message are refused for
// ever (unsigned), so it stays submitted; a re-derivation of the stock
// that counted it would keep a unit off sale for nothing. A message of
// the services carries the signature of its back-check in its branch
// headers (NewMsg), over its gid and its back-check's path.
func ListSignedMessages(ctx context.Context, hc *http.Client, groups Groups, key contract.Key, prefixes ...string) (map[string]string, error) {
	return listMessages(ctx, hc, groups, prefixes, func(t listed) bool {
		return key.SignedMessage(t.Gid, urlPath(t.QueryPrepared), t.BranchHeaders[contract.SignatureHeader])
	})
}

// listed is a transaction as dtm's listing shows it.
type listed struct {
	Gid           string            `json:"gid"`
	Status        string            `json:"status"`
	QueryPrepared string            `json:"query_prepared"`
	BranchHeaders map[string]string `json:"branch_headers"`
}

func listMessages(ctx context.Context, hc *http.Client, groups Groups, prefixes []string, keep func(listed) bool) (map[string]string, error) {
	if hc == nil {
		hc = queryClient
	}
	out := map[string]string{}
	for _, server := range groups {
		if err := listGroup(ctx, hc, server, prefixes, keep, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listGroup adds one dtm group's transactions whose gid starts with one of
// prefixes (and that keep keeps, when not nil) to out.
func listGroup(ctx context.Context, hc *http.Client, server string, prefixes []string, keep func(listed) bool, out map[string]string) error {
	position := ""
	for page := 0; page < 100000; page++ {
		q := url.Values{"limit": {"1000000"}, "position": {position}}
		var body struct {
			Transactions []listed `json:"transactions"`
			NextPosition string   `json:"next_position"`
		}
		if err := httpjson.Get(ctx, hc, server+"/all?"+q.Encode(), &body); err != nil {
			return fmt.Errorf("dtm transactions at %s: %w", server, err)
		}
		for _, t := range body.Transactions {
			for _, prefix := range prefixes {
				if strings.HasPrefix(t.Gid, prefix) && (keep == nil || keep(t)) {
					out[t.Gid] = t.Status
				}
			}
		}
		if body.NextPosition == "" || len(body.Transactions) == 0 {
			return nil
		}
		position = body.NextPosition
	}
	return fmt.Errorf("dtm transactions at %s: too many pages", server)
}
