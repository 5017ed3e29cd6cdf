package dtmclient_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
)

// TestMessageStatusAsksEveryGroup: a gid is found in its own group or, when
// it was written before a group was added, in another; a gid no group has
// is NoMessage, shown as "none"; a group that does not answer is an error,
// shown as "unknown (...)".
func TestMessageStatusAsksEveryGroup(t *testing.T) {
	a, b := newFakeDTM(t), newFakeDTM(t)
	groups := dtmclient.ParseGroups(a.api() + "," + b.api())
	ctx := context.Background()
	// A gid whose group is b, stored in a.
	var gid string
	for i := 0; gid == "" || groups.For(gid) != b.api(); i++ {
		gid = contract.PurchaseGID(1, "u"+strconv.Itoa(i))
	}
	created := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	a.addAt(dtmcli.NewMsg(a.api(), gid), "http://svc/q", dtmcli.StatusSubmitted, created)

	st, err := dtmclient.MessageStatus(ctx, nil, groups, gid)
	if err != nil || st != dtmcli.StatusSubmitted {
		t.Fatalf("a gid in another group than its own: %q, %v", st, err)
	}
	m, err := dtmclient.LookUp(ctx, nil, groups, gid)
	if err != nil || m.Status != dtmcli.StatusSubmitted || m.Group != a.api() || !m.Created.Equal(created) {
		t.Fatalf("LookUp: %+v, %v; want submitted in %s, prepared at %s", m, err, a.api(), created)
	}
	st, err = dtmclient.MessageStatus(ctx, nil, groups, "flash-sale-1-nobody")
	if err != nil || st != dtmclient.NoMessage {
		t.Fatalf("a gid no group has: %q, %v", st, err)
	}
	if got := dtmclient.Describe(st, err); got != "none" {
		t.Errorf("NoMessage shown as %q", got)
	}
	if got := dtmclient.Describe(dtmcli.StatusSucceed, nil); got != dtmcli.StatusSucceed {
		t.Errorf("a status shown as %q", got)
	}

	b.srv.Close()
	st, err = dtmclient.MessageStatus(ctx, nil, groups, gid)
	if err == nil {
		t.Fatalf("a group down: %q and no error", st)
	}
	if got := dtmclient.Describe(st, err); !strings.HasPrefix(got, "unknown (") || !strings.Contains(got, gid) {
		t.Errorf("an unanswered query shown as %q", got)
	}
}
