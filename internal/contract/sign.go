package contract

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MinKeyLen is the shortest internal key accepted, in bytes.
const MinKeyLen = 32

// MaxInternalBody bounds the body of an internal call; a longer one is
// answered 413 too_large before anything reads it.
const MaxInternalBody = 64 << 10

// A Key signs and checks the calls that reach the internal listeners: only
// the services hold it (FLASHSALE_INTERNAL_KEY). A signature is
// HMAC-SHA256 under the key over a Call: the route, the message's gid,
// transaction type, branch and operation as dtm sends them in the query,
// and the SHA-256 of the body. A message carries the signatures of its
// branch and back-check in its BranchHeaders, which the dtm server stores
// with the message and sends with every call it makes for it, retries and
// back-checks included.
type Key struct{ secret []byte }

// KeyEnv is the environment variable that holds the internal key: the
// same in every flashsale and order-service instance.
const KeyEnv = "FLASHSALE_INTERNAL_KEY"

// KeyFromEnv returns the key in KeyEnv, which the services mode requires.
func KeyFromEnv(getenv func(string) string) (Key, error) {
	text := getenv(KeyEnv)
	if text == "" {
		return Key{}, fmt.Errorf("%s must be set: at least %d bytes, the same in every flashsale and order-service instance", KeyEnv, MinKeyLen)
	}
	k, err := ParseKey(text)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", KeyEnv, err)
	}
	return k, nil
}

// ParseKey returns the key of text, which must be at least MinKeyLen bytes.
func ParseKey(text string) (Key, error) {
	if len(text) < MinKeyLen {
		return Key{}, fmt.Errorf("the internal key must be at least %d bytes (it has %d)", MinKeyLen, len(text))
	}
	return Key{secret: []byte(text)}, nil
}

// NewKeyText returns a random key's text: 32 random bytes in hex.
func NewKeyText() string {
	b := make([]byte, 32)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b)) // 64 characters, [0-9A-F]
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return len(k.secret) == 0 }

// Call is what a signature covers.
type Call struct {
	// Path is the route called, its parameters filled in: RouteCreateOrder,
	// PayPath(42).
	Path string
	// GID, TransType, BranchID and Op are dtm's query parameters of the
	// call ("" for a call that is not dtm's, such as RoutePay).
	GID, TransType, BranchID, Op string
	// Body is the request body (nil for a back-check).
	Body []byte
}

// Sign returns the signature of c under k.
func (k Key) Sign(c Call) string {
	digest := sha256.Sum256(c.Body)
	m := hmac.New(sha256.New, k.secret)
	for _, f := range []string{"flashsale-internal-v1", c.Path, c.GID, c.TransType, c.BranchID, c.Op, hex.EncodeToString(digest[:])} {
		m.Write([]byte(f))
		m.Write([]byte{'\n'})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// MessageSignatures returns the SignatureHeader value of a message of gid
// whose one branch is branchPath with body, and whose back-check is
// queryPath: the branch's signature and the back-check's, as the dtm
// server (and the dtm client's own back-check) call them.
func (k Key) MessageSignatures(gid, branchPath string, body []byte, queryPath string) string {
	branch := k.Sign(Call{Path: branchPath, GID: gid, TransType: "msg", BranchID: FirstBranch, Op: "action", Body: body})
	query := k.Sign(Call{Path: queryPath, GID: gid, TransType: "msg", BranchID: LocalBranch, Op: "msg"})
	return branch + "," + query
}

// SignedMessage reports whether header, a message's SignatureHeader, holds
// k's signature of the back-check of message gid at queryPath: the message
// was made by a service that holds k (MessageSignatures), not registered
// on the dtm server by someone else under one of the project's gids.
func (k Key) SignedMessage(gid, queryPath, header string) bool {
	if k.IsZero() {
		return false
	}
	want, _ := base64.RawURLEncoding.DecodeString(k.Sign(Call{Path: queryPath, GID: gid, TransType: "msg", BranchID: LocalBranch, Op: "msg"}))
	for _, sig := range strings.Split(header, ",") {
		got, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(sig))
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// ErrUnsigned is the answer to an internal call without a valid signature.
var ErrUnsigned = Errorf(EUnauthorized, "this internal call is not signed by the services' key")

// Verify checks that the SignatureHeader of r holds a signature of r, whose
// body is body: nil, or ErrUnsigned.
func (k Key) Verify(r *http.Request, body []byte) error {
	if k.IsZero() {
		return ErrUnsigned
	}
	q := r.URL.Query()
	want, _ := base64.RawURLEncoding.DecodeString(k.Sign(Call{
		Path: r.URL.Path, GID: q.Get("gid"), TransType: q.Get("trans_type"),
		BranchID: q.Get("branch_id"), Op: q.Get("op"), Body: body,
	}))
	for _, h := range r.Header.Values(SignatureHeader) {
		for _, sig := range strings.Split(h, ",") {
			got, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(sig))
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrUnsigned
}

// SignRequest adds to r, whose body is body, its signature.
func (k Key) SignRequest(r *http.Request, body []byte) {
	q := r.URL.Query()
	r.Header.Add(SignatureHeader, k.Sign(Call{
		Path: r.URL.Path, GID: q.Get("gid"), TransType: q.Get("trans_type"),
		BranchID: q.Get("branch_id"), Op: q.Get("op"), Body: body,
	}))
}

// openPaths are answered without a signature: liveness, readiness and
// metrics, for probes and scrapers on the services' network.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Guard returns next behind the signature check: a call to any path but
// /healthz, /readyz and /metrics whose signature is missing or wrong is
// answered 401 unauthorized, and one whose body is over MaxInternalBody
// 413 too_large, before next sees it. next reads the body Verify checked.
func (k Key) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInternalBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			WriteError(w, Errorf(ETooLarge, "the body is over %d bytes", MaxInternalBody))
			return
		case err != nil:
			WriteError(w, Errorf(EBadRequest, "the body cannot be read"))
			return
		}
		if err := k.Verify(r, body); err != nil {
			WriteError(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
