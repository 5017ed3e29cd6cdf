package gate

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

func TestSecrets(t *testing.T) {
	s := NewSecrets("server-key")
	a := flashsale.Activity{ID: 7, StartAt: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	sec := s.For(a, "alice")
	moved := a
	moved.StartAt = a.StartAt.Add(time.Minute)
	other := a
	other.ID = 8
	tests := []struct {
		name   string
		a      flashsale.Activity
		user   string
		secret string
		ok     bool
	}{
		{"OK", a, "alice", sec, true},
		{"OtherUser", a, "bob", sec, false},
		{"OtherActivity", other, "alice", sec, false},
		{"StartMoved", moved, "alice", sec, false},
		{"Empty", a, "alice", "", false},
		{"NotBase64", a, "alice", "!!!!", false},
		{"Truncated", a, "alice", sec[:10], false},
		{"OtherKey", a, "alice", NewSecrets("another-key").For(a, "alice"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Check(tt.a, tt.user, tt.secret); got != tt.ok {
				t.Fatalf("Check = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	c, err := NewClientIP("10.0.0.1, 192.168.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"NoProxy", "203.0.113.5:4000", "", "203.0.113.5"},
		{"SpoofedFromClient", "203.0.113.5:4000", "1.2.3.4", "203.0.113.5"},
		{"TrustedProxy", "10.0.0.1:4000", "198.51.100.7", "198.51.100.7"},
		{"ClientPrependsLies", "10.0.0.1:4000", "1.2.3.4, 198.51.100.7", "198.51.100.7"},
		{"ProxyChain", "10.0.0.1:4000", "198.51.100.7, 192.168.3.4", "198.51.100.7"},
		{"AllTrusted", "10.0.0.1:4000", "192.168.3.4", "10.0.0.1"},
		{"Malformed", "10.0.0.1:4000", "not-an-ip", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := c.Of(r); got != tt.want {
				t.Fatalf("Of = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := NewClientIP("10.0.0.300"); err == nil {
		t.Fatal("a bad proxy address was accepted")
	}
}

func TestAdmission(t *testing.T) {
	a := NewAdmission(2, 3)
	a.SetRemaining(1, 5) // bound 10
	var leaves []func()
	for i := 0; i < 10; i++ {
		leave, ok := a.Enter(1)
		if !ok {
			t.Fatalf("buy %d refused under the bound", i+1)
		}
		leaves = append(leaves, leave)
	}
	if _, ok := a.Enter(1); ok {
		t.Fatal("buy 11 admitted over the bound of 2 x 5")
	}
	leaves[0]()
	if _, ok := a.Enter(1); !ok {
		t.Fatal("a freed place was not reused")
	}
	a.SetRemaining(2, 0) // the floor applies
	for i := 0; i < 3; i++ {
		if _, ok := a.Enter(2); !ok {
			t.Fatalf("buy %d refused under the floor", i+1)
		}
	}
	if _, ok := a.Enter(2); ok {
		t.Fatal("admitted over the floor")
	}
}

func TestSoldOutFlag(t *testing.T) {
	s := NewSoldOut()
	now := time.Now()
	if s.Is(1, now) {
		t.Fatal("unknown activity reported sold out")
	}
	s.Set(1, true)
	if !s.Is(1, now) {
		t.Fatal("flag not set")
	}
	s.Set(1, false)
	if s.Is(1, now) {
		t.Fatal("flag not cleared")
	}
	if ids := s.active(now.Add(2 * time.Minute)); len(ids) != 0 {
		t.Fatalf("stale activities still polled: %v", ids)
	}
}
