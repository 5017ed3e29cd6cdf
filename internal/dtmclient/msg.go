package dtmclient

import (
	"encoding/json"
	"maps"
	"net/url"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
)

// MsgSpec describes one of the project's two-phase messages: one branch,
// which the dtm server POSTs Body to, and one back-check.
type MsgSpec struct {
	GID string
	// BranchBase is the base URL of the branch's service as the dtm server
	// reaches it; BranchRoute its route (contract.Route...). The path
	// signed is the URL's: a proxy between the dtm server and the service
	// must not rewrite it.
	BranchBase, BranchRoute string
	// Body is the branch's body, marshalled to JSON.
	Body any
	// QueryBase and QueryRoute address the back-check the same way.
	QueryBase, QueryRoute string
	// Headers, if any, go with every call the dtm server makes for the
	// message, beside the signatures.
	Headers map[string]string
}

// NewMsg returns the message spec describes on the dtm server at server
// (its API base), with the project's timing (MsgTimeoutToFail,
// MsgRetryInterval, RequestTimeout), and the URL of its back-check, for
// DoAndSubmit. Its branch call and its back-check are signed under key:
// the signatures travel in the message's BranchHeaders, which the dtm
// server stores with the message and sends with every call it makes for
// it (retries and back-checks included), as the dtm client's own
// back-check in DoAndSubmit does.
func NewMsg(server string, key contract.Key, spec MsgSpec) (msg *dtmcli.Msg, queryURL string) {
	body, err := json.Marshal(spec.Body)
	if err != nil {
		panic("dtmclient: a message body that cannot be marshalled: " + err.Error())
	}
	// json.RawMessage goes into the message as these very bytes, so the
	// branch receives the body that was signed.
	msg = dtmcli.NewMsg(server, spec.GID).Add(spec.BranchBase+spec.BranchRoute, json.RawMessage(body))
	msg.TimeoutToFail = MsgTimeoutToFail
	msg.RetryInterval = MsgRetryInterval
	msg.RequestTimeout = RequestTimeout
	msg.BranchHeaders = maps.Clone(spec.Headers)
	if msg.BranchHeaders == nil {
		msg.BranchHeaders = map[string]string{}
	}
	queryURL = spec.QueryBase + spec.QueryRoute
	msg.BranchHeaders[contract.SignatureHeader] = key.MessageSignatures(spec.GID, urlPath(spec.BranchBase+spec.BranchRoute), body, urlPath(queryURL))
	return msg, queryURL
}

// urlPath is the path of u as the service it addresses receives it (the
// route, after any path the base URL has).
func urlPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Path
}
