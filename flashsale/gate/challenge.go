package gate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// A proof of work makes a bot pay for each account it sends at a sale. For
// an activity with a challenge difficulty d, the start secret is handed out
// only against a solution of a challenge: a string s such that
// SHA-256(challenge ":" s) begins with d zero bits, about 2^d hashes to
// find and one to check. A challenge is signed by the server (HMAC), bound
// to one user and one activity, lives ChallengeTTL, and is good once: its
// nonce is set in Redis when it is redeemed, by any instance.

// ChallengeTTL is how long a challenge may be solved and redeemed.
const ChallengeTTL = 2 * time.Minute

// MaxDifficulty bounds an activity's challenge difficulty, in bits (2^24
// hashes: seconds in a browser).
const MaxDifficulty = 24

// Challenges issues and checks the proofs of work.
type Challenges struct {
	key []byte
	rdb redis.UniversalClient
}

// NewChallenges returns Challenges signing with key, redeeming in rdb.
func NewChallenges(key string, rdb redis.UniversalClient) *Challenges {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("flashsale challenges"))
	return &Challenges{key: m.Sum(nil), rdb: rdb}
}

// Challenge is what the challenge endpoint answers.
type Challenge struct {
	Challenge  string    `json:"challenge"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Issue returns a new challenge for user in activity a at the difficulty
// given.
func (c *Challenges) Issue(a flashsale.Activity, user string, difficulty int, now time.Time) Challenge {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	exp := now.Add(ChallengeTTL).Truncate(time.Second)
	payload := strings.Join([]string{strconv.FormatInt(a.ID, 10), user, strconv.FormatInt(exp.Unix(), 10), strconv.Itoa(difficulty), hex.EncodeToString(nonce)}, ".")
	token := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload))
	return Challenge{Challenge: token, Difficulty: difficulty, ExpiresAt: exp.UTC()}
}

func (c *Challenges) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// required is the answer to every failed redemption: 403
// challenge_required, saying why.
func required(format string, args ...any) error {
	return contract.Errorf(contract.EChallengeRequired, "solve a challenge first (GET .../challenge): "+format, args...)
}

// Redeem checks that solution solves challenge for user in activity a at
// now, and marks the challenge used. Every failure is an Error
// EChallengeRequired, and leaves nothing changed; a Redis error is
// returned as it is.
func (c *Challenges) Redeem(ctx context.Context, a flashsale.Activity, user, challenge, solution string, now time.Time) error {
	if challenge == "" || solution == "" {
		return required("this sale hands its secret out against a solved challenge (?challenge=&solution=)")
	}
	if len(challenge) > 512 || len(solution) > 64 {
		return required("the challenge or the solution is too long")
	}
	enc, sig, ok := strings.Cut(challenge, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(string(payload))) {
		return required("this is no challenge of ours")
	}
	f := strings.Split(string(payload), ".")
	if len(f) != 5 {
		return required("this is no challenge of ours")
	}
	exp, _ := strconv.ParseInt(f[2], 10, 64)
	difficulty, _ := strconv.Atoi(f[3])
	switch {
	case f[0] != strconv.FormatInt(a.ID, 10) || f[1] != user:
		return required("the challenge was issued for another user or sale")
	case !now.Before(time.Unix(exp, 0)):
		return required("the challenge expired")
	case ZeroBits(challenge, solution) < difficulty:
		return required("the solution does not solve the challenge")
	}
	ttl := time.Until(time.Unix(exp, 0)) + time.Second
	fresh, err := c.rdb.SetNX(ctx, contract.ChallengeKey(f[4]), user, ttl).Result()
	if err != nil {
		return fmt.Errorf("redeem a challenge: %w", err)
	}
	if !fresh {
		return required("the challenge was already used")
	}
	return nil
}

// ZeroBits counts the leading zero bits of SHA-256(challenge ":"
// solution): what a solution is worth.
func ZeroBits(challenge, solution string) int {
	sum := sha256.Sum256([]byte(challenge + ":" + solution))
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
