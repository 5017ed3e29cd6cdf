package dtmclient_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// TestListings: the listings read every group and keep the gids of the
// prefixes asked; the signed listing drops messages the key did not sign;
// the unsettled one keeps the prepared and submitted.
func TestListings(t *testing.T) {
	a, b := newFakeDTM(t), newFakeDTM(t)
	groups := dtmclient.ParseGroups(a.api() + "," + b.api())
	key, other := testKey(t, "k"), testKey(t, "o")
	put := func(gid string, signer *contract.Key, status string) {
		spec := dtmclient.MsgSpec{GID: gid, BranchBase: "http://orders", BranchRoute: contract.RouteCreateOrder, Body: map[string]string{"gid": gid},
			QueryBase: "http://flashsale", QueryRoute: contract.RoutePurchaseQuery}
		msg, queryURL := dtmcli.NewMsg(groups.For(gid), gid), spec.QueryBase+spec.QueryRoute
		if signer != nil {
			msg, queryURL = dtmclient.NewMsg(groups.For(gid), *signer, spec)
		}
		for _, f := range []*fakeDTM{a, b} {
			if f.api() == groups.For(gid) {
				f.add(msg, queryURL, status)
			}
		}
	}
	adjust := contract.Adjustment{ActivityID: 1, Delta: 5, RequestID: "r1"}.GID()
	put(contract.PurchaseGID(1, "alice"), &key, dtmcli.StatusSubmitted)
	put(contract.PurchaseGID(1, "bob"), &other, dtmcli.StatusPrepared)
	put(contract.PurchaseGID(1, "carol"), nil, dtmcli.StatusSucceed)
	put(contract.PurchaseGID(1, "erin"), &key, dtmcli.StatusFailed)
	put(contract.PurchaseGID(2, "dave"), &key, dtmcli.StatusPrepared)
	put(adjust, &key, dtmcli.StatusSucceed)
	ctx := context.Background()

	want := map[string]string{
		contract.PurchaseGID(1, "alice"): dtmcli.StatusSubmitted, contract.PurchaseGID(1, "bob"): dtmcli.StatusPrepared,
		contract.PurchaseGID(1, "carol"): dtmcli.StatusSucceed, contract.PurchaseGID(1, "erin"): dtmcli.StatusFailed,
	}
	got, err := dtmclient.ListMessages(ctx, nil, groups, contract.PurchaseGIDPrefix(1))
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("activity 1's purchases: %v, %v; want %v", got, err, want)
	}

	want = map[string]string{contract.PurchaseGID(1, "alice"): dtmcli.StatusSubmitted, contract.PurchaseGID(1, "erin"): dtmcli.StatusFailed, adjust: dtmcli.StatusSucceed}
	got, err = dtmclient.ListSignedMessages(ctx, nil, groups, key, contract.PurchaseGIDPrefix(1), contract.AdjustGIDPrefix(1))
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("activity 1's signed messages: %v, %v; want %v", got, err, want)
	}

	want = map[string]string{
		contract.PurchaseGID(1, "alice"): dtmcli.StatusSubmitted, contract.PurchaseGID(1, "bob"): dtmcli.StatusPrepared,
		contract.PurchaseGID(2, "dave"): dtmcli.StatusPrepared,
	}
	got, err = dtmclient.ListUnsettled(ctx, nil, groups, contract.PurchaseGIDPrefix(1), contract.PurchaseGIDPrefix(2), contract.AdjustGIDPrefix(1))
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("unsettled messages: %v, %v; want %v", got, err, want)
	}

	b.srv.Close()
	if got, err := dtmclient.ListMessages(ctx, nil, groups, contract.PurchaseGIDPrefix(1)); err == nil {
		t.Errorf("a group down, the listing answered %v", got)
	}
}

func testKey(t *testing.T, fill string) contract.Key {
	t.Helper()
	k, err := contract.ParseKey(strings.Repeat(fill, contract.MinKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
