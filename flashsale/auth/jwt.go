// Package auth verifies and mints the shoppers' bearer tokens: HS256 JWTs
// whose sub is the user id and whose exp is required (docs/api.md).
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
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
//
// A shopper sends the same token with every request of a sale (the secret,
// the buy, the order polls), and during a burst the sold-out answer costs
// little more than reading the token. So a token that passed is kept, with
// its subject and times, and the next request with the same bytes only has
// its times checked again: no signature, no JSON. Only a token that passed
// the full check is kept, byte for byte, so nothing else can hit.
type Verifier struct {
	secret []byte
	now    func() time.Time

	mu    sync.RWMutex // mu guards known
	known map[string]claims
}

// maxKnown bounds the tokens kept (about 300 bytes each); when full, the
// set starts again empty.
const maxKnown = 50_000

// NewVerifier returns a Verifier for secret using now as the clock.
func NewVerifier(secret string, now func() time.Time) *Verifier {
	return &Verifier{secret: []byte(secret), now: now, known: map[string]claims{}}
}

var errToken = errors.New("invalid token")

// UserID verifies token and returns its subject. Every failure is an Error
// with code EUnauthorized.
func (v *Verifier) UserID(token string) (string, error) {
	v.mu.RLock()
	c, ok := v.known[token]
	v.mu.RUnlock()
	if ok && c.check(v.now()) == nil {
		return c.Sub, nil
	}
	c, err := v.verify(token)
	if err != nil {
		return "", contract.Errorf(contract.EUnauthorized, "%v", err)
	}
	v.mu.Lock()
	if len(v.known) >= maxKnown {
		v.known = make(map[string]claims, maxKnown)
	}
	v.known[token] = c
	v.mu.Unlock()
	return c.Sub, nil
}

// check checks the claims' times and subject at now.
func (c claims) check(now time.Time) error {
	t := float64(now.Unix())
	switch {
	case c.Exp == nil:
		return errors.New("token has no exp")
	case t >= *c.Exp:
		return errors.New("token expired")
	case c.Nbf != nil && t < *c.Nbf:
		return errors.New("token not valid yet")
	case !contract.ValidUserID(c.Sub):
		return errors.New("token subject is not a valid user id")
	}
	return nil
}

func (v *Verifier) verify(token string) (claims, error) {
	var c claims
	if len(token) > 4096 {
		return c, errToken
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return c, errToken
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return c, errToken
	}
	var hd header
	if err := decodePart(h, &hd); err != nil || hd.Alg != "HS256" {
		return c, errors.New("token algorithm must be HS256")
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, v.sign(h+"."+p)) {
		return c, errors.New("bad token signature")
	}
	if err := decodePart(p, &c); err != nil {
		return c, errToken
	}
	return c, c.check(v.now())
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
