package gate

import (
	"context"
	"slices"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func TestParseEntry(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3":            "10.1.2.3",
		"10.1.2.3/16":         "10.1.0.0/16",
		"2001:DB8::1":         "2001:db8::1",
		"2001:db8:1:2::9/32":  "2001:db8::/32",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
	} {
		if got, ok := ParseEntry(in); !ok || got != want {
			t.Errorf("ParseEntry(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "10.0.0/8", "nope", "2001:db8::/129", "::ffff:0:0/90", "10.0.0.1/8/8"} {
		if got, ok := ParseEntry(bad); ok {
			t.Errorf("ParseEntry(%q) accepted as %q", bad, got)
		}
	}
}

// TestBlacklistRanges: a CIDR entry blocks every address inside it, on
// every instance (two Blacklists on one Redis), and nothing outside; taken
// off, it blocks nothing.
func TestBlacklistRanges(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	newBL := func() *Blacklist {
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { rdb.Close() })
		return NewBlacklist(rdb)
	}
	a, b := newBL(), newBL()
	e := Entries{IPs: []string{"10.1.0.0/16", "2001:db8::/32", "192.0.2.7"}}
	if err := a.Add(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"10.1.0.1": true, "10.1.255.254": true, "::ffff:10.1.9.9": true, "10.2.0.1": false,
		"2001:db8:ffff::1": true, "2001:db9::1": false, "192.0.2.7": true, "192.0.2.8": false, "not-an-ip": false,
	} {
		if got := b.Blocked("u", ip); got != want {
			t.Errorf("Blocked(%s) = %v on the other instance, want %v", ip, got, want)
		}
	}
	got, err := b.List(ctx)
	if err != nil || !slices.Contains(got.IPs, "10.1.0.0/16") || len(got.IPs) != 3 {
		t.Fatalf("List = %+v, %v", got, err)
	}
	if err := a.Remove(ctx, Entries{IPs: []string{"10.1.0.0/16"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Blocked("u", "10.1.0.1") || !b.Blocked("u", "2001:db8::5") {
		t.Error("after removing 10.1.0.0/16: the range still blocks, or the other one stopped")
	}
}
