package dtmclient_test

import (
	"encoding/json"
	"testing"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// TestNewMsg: a message carries the project's timing, its branch with the
// very body signed, and signatures of its branch and back-check that the
// key accepts and another refuses; the caller's headers go with it and stay
// the caller's.
func TestNewMsg(t *testing.T) {
	key, other := testKey(t, "k"), testKey(t, "o")
	gid := contract.PurchaseGID(7, "alice")
	headers := map[string]string{"traceparent": "00-abc"}
	spec := dtmclient.MsgSpec{GID: gid, BranchBase: "http://orders:8090/base", BranchRoute: contract.RouteCreateOrder,
		Body: map[string]any{"activity_id": 7, "user_id": "alice"}, QueryBase: "http://flashsale:8082", QueryRoute: contract.RoutePurchaseQuery,
		Headers: headers}
	msg, queryURL := dtmclient.NewMsg("http://dtm/api/dtmsvr", key, spec)
	headers["traceparent"] = "changed"

	if queryURL != "http://flashsale:8082"+contract.RoutePurchaseQuery {
		t.Errorf("back-check %q", queryURL)
	}
	if msg.TimeoutToFail != dtmclient.MsgTimeoutToFail || msg.RetryInterval != dtmclient.MsgRetryInterval || msg.RequestTimeout != dtmclient.RequestTimeout {
		t.Errorf("timing: %d %d %d", msg.TimeoutToFail, msg.RetryInterval, msg.RequestTimeout)
	}
	if len(msg.Steps) != 1 || msg.Steps[0]["action"] != "http://orders:8090/base"+contract.RouteCreateOrder {
		t.Fatalf("steps %v", msg.Steps)
	}
	want, _ := json.Marshal(spec.Body)
	if len(msg.Payloads) != 1 || msg.Payloads[0] != string(want) {
		t.Errorf("payload %v, want %s", msg.Payloads, want)
	}
	sig := msg.BranchHeaders[contract.SignatureHeader]
	if !key.SignedMessage(gid, contract.RoutePurchaseQuery, sig) || other.SignedMessage(gid, contract.RoutePurchaseQuery, sig) {
		t.Errorf("signature %q: the key's %v, another's %v", sig, key.SignedMessage(gid, contract.RoutePurchaseQuery, sig), other.SignedMessage(gid, contract.RoutePurchaseQuery, sig))
	}
	if key.SignedMessage(contract.PurchaseGID(7, "bob"), contract.RoutePurchaseQuery, sig) {
		t.Error("the signature holds for another gid")
	}
	if msg.BranchHeaders["traceparent"] != "00-abc" {
		t.Errorf("headers %v", msg.BranchHeaders)
	}
}
