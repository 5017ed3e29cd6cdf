package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

func TestVerifier(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	v := NewVerifier("s3cret", func() time.Time { return now })
	forge := func(hd, claims map[string]any, secret string) string {
		h, _ := json.Marshal(hd)
		p, _ := json.Marshal(claims)
		in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
		if secret == "" {
			return in + "."
		}
		return in + "." + b64.EncodeToString((&Verifier{secret: []byte(secret)}).sign(in))
	}
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	exp := now.Add(time.Hour).Unix()
	tests := []struct {
		name, token, user string
	}{
		{"OK", Mint("s3cret", "alice_1", now, time.Hour), "alice_1"},
		{"Expired", Mint("s3cret", "alice", now.Add(-2*time.Hour), time.Hour), ""},
		{"ExpiresNow", Mint("s3cret", "alice", now.Add(-time.Hour), time.Hour), ""},
		{"WrongKey", Mint("other", "alice", now, time.Hour), ""},
		{"AlgNone", forge(map[string]any{"alg": "none"}, map[string]any{"sub": "alice", "exp": exp}, ""), ""},
		{"AlgNoneSigned", forge(map[string]any{"alg": "none"}, map[string]any{"sub": "alice", "exp": exp}, "s3cret"), ""},
		{"AlgHS512", forge(map[string]any{"alg": "HS512"}, map[string]any{"sub": "alice", "exp": exp}, "s3cret"), ""},
		{"NoExp", forge(hs, map[string]any{"sub": "alice"}, "s3cret"), ""},
		{"NotYetValid", forge(hs, map[string]any{"sub": "alice", "exp": exp, "nbf": exp - 60}, "s3cret"), ""},
		{"SubWithDash", forge(hs, map[string]any{"sub": "a-b", "exp": exp}, "s3cret"), ""},
		{"SubTooLong", forge(hs, map[string]any{"sub": strings.Repeat("a", 65), "exp": exp}, "s3cret"), ""},
		{"SubEmpty", forge(hs, map[string]any{"sub": "", "exp": exp}, "s3cret"), ""},
		{"Garbage", "not-a-token", ""},
		{"FourParts", Mint("s3cret", "alice", now, time.Hour) + ".x", ""},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := v.UserID(tt.token)
			if tt.user != "" {
				if err != nil || user != tt.user {
					t.Fatalf("UserID = %q, %v; want %q", user, err, tt.user)
				}
				return
			}
			if contract.ErrorCode(err) != contract.EUnauthorized {
				t.Fatalf("UserID = %q, %v; want an unauthorized error", user, err)
			}
		})
	}
}

// TestKnownTokenTimesChecked: a token that passed is kept, but its times
// are checked again on every use: it expires on time, and a token that
// failed is never kept.
func TestKnownTokenTimesChecked(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	v := NewVerifier("s3cret", func() time.Time { return now })
	tok := Mint("s3cret", "bob", now, time.Minute)
	for i := 0; i < 2; i++ {
		if user, err := v.UserID(tok); err != nil || user != "bob" {
			t.Fatalf("use %d: %q, %v", i+1, user, err)
		}
	}
	now = now.Add(time.Minute)
	if _, err := v.UserID(tok); contract.ErrorCode(err) != contract.EUnauthorized {
		t.Fatalf("a kept token after its exp: %v, want unauthorized", err)
	}
	bad := Mint("other", "eve", now, time.Hour)
	for i := 0; i < 2; i++ {
		if _, err := v.UserID(bad); err == nil {
			t.Fatalf("use %d of a token with a wrong key accepted", i+1)
		}
	}
	if len(v.known) != 1 {
		t.Fatalf("%d tokens kept, want 1 (only the one that passed)", len(v.known))
	}
}

// BenchmarkUserID compares a token's first check with the next ones
// (go test -bench UserID ./flashsale/auth).
func BenchmarkUserID(b *testing.B) {
	now := time.Now()
	tok := Mint("s3cret", "alice", now, time.Hour)
	b.Run("first", func(b *testing.B) {
		for range b.N {
			v := NewVerifier("s3cret", func() time.Time { return now })
			if _, err := v.UserID(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("known", func(b *testing.B) {
		v := NewVerifier("s3cret", func() time.Time { return now })
		for range b.N {
			if _, err := v.UserID(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
