package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
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
			if flashsale.ErrorCode(err) != flashsale.EUnauthorized {
				t.Fatalf("UserID = %q, %v; want an unauthorized error", user, err)
			}
		})
	}
}
