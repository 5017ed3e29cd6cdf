// Package auth verifies and mints the shoppers' bearer tokens: HS256 JWTs
// whose sub is the user id and whose exp is required (API.md).
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

// header is the only JOSE header accepted: HS256, nothing else. Tokens with
// alg "none" or any other algorithm are rejected before the signature check.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
}

type claims struct {
	Sub string   `json:"sub"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf,omitempty"`
	Iat *float64 `json:"iat,omitempty"`
}

var b64 = base64.RawURLEncoding

// Verifier checks tokens signed with one secret.
type Verifier struct {
	secret []byte
	now    func() time.Time
}

// NewVerifier returns a Verifier for secret using now as the clock.
func NewVerifier(secret string, now func() time.Time) *Verifier {
	return &Verifier{secret: []byte(secret), now: now}
}

var errToken = errors.New("invalid token")

// UserID verifies token and returns its subject. Every failure is an Error
// with code EUnauthorized.
func (v *Verifier) UserID(token string) (string, error) {
	user, err := v.verify(token)
	if err != nil {
		return "", flashsale.Errorf(flashsale.EUnauthorized, "%v", err)
	}
	return user, nil
}

func (v *Verifier) verify(token string) (string, error) {
	if len(token) > 4096 {
		return "", errToken
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return "", errToken
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return "", errToken
	}
	var hd header
	if err := decodePart(h, &hd); err != nil || hd.Alg != "HS256" {
		return "", errors.New("token algorithm must be HS256")
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, v.sign(h+"."+p)) {
		return "", errors.New("bad token signature")
	}
	var c claims
	if err := decodePart(p, &c); err != nil {
		return "", errToken
	}
	now := float64(v.now().Unix())
	switch {
	case c.Exp == nil:
		return "", errors.New("token has no exp")
	case now >= *c.Exp:
		return "", errors.New("token expired")
	case c.Nbf != nil && now < *c.Nbf:
		return "", errors.New("token not valid yet")
	case !flashsale.ValidUserID(c.Sub):
		return "", errors.New("token subject is not a valid user id")
	}
	return c.Sub, nil
}

func (v *Verifier) sign(signingInput string) []byte {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

func decodePart(part string, into any) error {
	b, err := b64.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// Mint returns a token for user valid for ttl from now, signed with secret.
// It is for development and tests; production tokens come from the
// deployment's identity provider.
func Mint(secret, user string, now time.Time, ttl time.Duration) string {
	h, _ := json.Marshal(header{Alg: "HS256", Typ: "JWT"})
	exp := float64(now.Add(ttl).Unix())
	iat := float64(now.Unix())
	p, _ := json.Marshal(claims{Sub: user, Exp: &exp, Iat: &iat})
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	v := Verifier{secret: []byte(secret)}
	return in + "." + b64.EncodeToString(v.sign(in))
}
