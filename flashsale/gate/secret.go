// Package gate holds the cheap checks a buy passes before any dtm work, in
// the order the buy handler runs them: the start secret, the local sold-out
// flag and the blacklist (all in memory), then the rate limits (Redis) and
// the per-activity admission limit (in memory).
package gate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"github.com/flashsale/flashsale/flashsale"
)

// Secrets computes and checks the per-user start secrets: an HMAC over the
// activity, the user and the activity's start time, with a server key. It
// needs no store: any instance with the key checks any secret.
type Secrets struct {
	key []byte
}

// NewSecrets returns Secrets with the server key.
func NewSecrets(key string) *Secrets { return &Secrets{key: []byte(key)} }

// For returns user's secret for activity a.
func (s *Secrets) For(a flashsale.Activity, user string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(a, user)[:16])
}

// Check reports whether secret is user's secret for a, in constant time.
func (s *Secrets) Check(a flashsale.Activity, user, secret string) bool {
	got, err := base64.RawURLEncoding.DecodeString(secret)
	return err == nil && len(got) == 16 && hmac.Equal(got, s.mac(a, user)[:16])
}

func (s *Secrets) mac(a flashsale.Activity, user string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strconv.FormatInt(a.ID, 10) + "\x00" + user + "\x00" + strconv.FormatInt(a.StartAt.UnixNano(), 10)))
	return m.Sum(nil)
}
