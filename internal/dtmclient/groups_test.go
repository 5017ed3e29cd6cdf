package dtmclient_test

import (
	"strconv"
	"testing"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

func TestGroupsSpreadGIDsStably(t *testing.T) {
	g := dtmclient.ParseGroups(" http://a:1/api/dtmsvr, http://b:2/api/dtmsvr/ ,")
	if len(g) != 2 || g[1] != "http://b:2/api/dtmsvr" {
		t.Fatalf("parsed %q", g)
	}
	n := map[string]int{}
	for i := range 2000 {
		gid := "flash-sale-1-u" + strconv.Itoa(i)
		first := g.For(gid)
		if again := dtmclient.ParseGroups(g.String()).For(gid); again != first {
			t.Fatalf("%s: group %s, then %s", gid, first, again)
		}
		n[first]++
	}
	if n[g[0]] < 850 || n[g[1]] < 850 {
		t.Errorf("2000 gids over two groups: %v", n)
	}
	if dtmclient.ParseGroups("http://a/api/dtmsvr").For("x") != "http://a/api/dtmsvr" || dtmclient.ParseGroups("").For("x") != "" {
		t.Error("one group or none")
	}
	if g.Admin("x") != "http://a:1" && g.Admin("x") != "http://b:2" {
		t.Errorf("Admin: %q", g.Admin("x"))
	}
}
