package gate

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/redis/go-redis/v9"
)

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"::ffff:203.0.113.5", "203.0.113.5"}, // IPv4-mapped: the IPv4 address
		{"::ffff:cb00:7105", "203.0.113.5"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:0:0:0:7", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-ip", "not-an-ip"},
		{"", ""},
	} {
		if got := AddrKey(tc.ip); got != tc.want {
			t.Errorf("AddrKey(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func miniRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestBlacklistIPv6: an IPv6 entry blocks its /64 and nothing past it; an
// IPv4 entry blocks that address, and its IPv4-mapped form, only.
func TestBlacklistIPv6(t *testing.T) {
	ctx := context.Background()
	b := NewBlacklist(miniRedis(t))
	if err := b.Add(ctx, Entries{IPs: []string{"2001:db8:1:2::1", "198.51.100.9"}}); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"2001:db8:1:2::1":       true,
		"2001:db8:1:2::2":       true, // the same /64
		"2001:db8:1:2:abcd::99": true,
		"2001:db8:1:3::1":       false, // the next /64
		"2001:db8::1":           false,
		"198.51.100.9":          true,
		"::ffff:198.51.100.9":   true,
		"198.51.100.10":         false, // IPv4: the address alone
	} {
		if got := b.Blocked("someone", ip); got != want {
			t.Errorf("Blocked(%s) = %v, want %v", ip, got, want)
		}
	}
	// The list shows what was added; removing it frees the /64.
	if e, err := b.List(ctx); err != nil || len(e.IPs) != 2 {
		t.Fatalf("List = %v, %v", e, err)
	}
	if err := b.Remove(ctx, Entries{IPs: []string{"2001:db8:1:2::1"}}); err != nil {
		t.Fatal(err)
	}
	if b.Blocked("someone", "2001:db8:1:2::2") {
		t.Error("the /64 is still blocked after its entry was removed")
	}
}

// TestRateLimitIPv6: the addresses of one /64 share the per-IP limit; an
// address of another /64 has its own, and IPv4 addresses each their own,
// an IPv4-mapped address sharing its IPv4 address's.
func TestRateLimitIPv6(t *testing.T) {
	ctx := context.Background()
	rdb := miniRedis(t)
	r := NewRateLimiter(Limits{PerIP: 3})
	allowed := func(ip string) bool {
		t.Helper()
		wait, err := rediscache.CountWindows(ctx, rdb, r.Windows("u-"+ip, ip)) // one user each: only the IP limit applies
		if err != nil {
			t.Fatal(err)
		}
		return wait == 0
	}
	// The windows are whole seconds: start early in one, so that every
	// call below (a few milliseconds) falls in it.
	for time.Now().Nanosecond() > 300_000_000 {
		time.Sleep(10 * time.Millisecond)
	}
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		if !allowed(ip) {
			t.Fatalf("buy %d of the /64 refused under the limit of 3", i+1)
		}
	}
	if allowed("2001:db8:1:2::4") {
		t.Error("a 4th address of the same /64 got past the limit of 3 per second")
	}
	if !allowed("2001:db8:1:3::1") {
		t.Error("another /64 was limited")
	}
	for i := 0; i < 3; i++ {
		if !allowed("198.51.100.1") {
			t.Fatalf("IPv4 buy %d refused under the limit", i+1)
		}
	}
	if allowed("::ffff:198.51.100.1") {
		t.Error("the IPv4-mapped form of a limited IPv4 address got past its limit")
	}
	if !allowed("198.51.100.2") {
		t.Error("another IPv4 address was limited")
	}
}
