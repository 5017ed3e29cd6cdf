package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// buyRequest is the buy body. Any other field (a quantity, a price, a user
// id) is ignored: the token names the user and a purchase is one unit.
type buyRequest struct {
	Secret string `json:"secret"`
}

// handleBuy runs the gates, cheapest first, then the purchase message:
// token, activity open by server time, the local sold-out flag, the start
// secret, the blacklist, the activity's admission bound (all in memory),
// then one Redis call for the rate limits and the stock, and only then any
// dtm work.
func handleBuy(tokens TokenVerifier, cat flashsale.Catalog, buyer Purchaser, g *gate.Set, m *metrics.Metrics, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		outcome := "accepted"
		var act int64         // the activity, once known: the sale view's tallies are per activity
		var rejectedBy string // the gate that turned the buy away, if one did
		defer func() {
			m.Buys.WithLabelValues(outcome).Inc()
			m.BuySeconds.Observe(time.Since(start).Seconds())
			m.Sales.Record(act, outcome, rejectedBy)
		}()
		fail := func(reason string, err error) {
			rejectedBy = reason
			outcome = contract.ErrorCode(err)
			if reason != "" {
				m.GateRejects.WithLabelValues(reason).Inc()
			}
			writeError(c, log, err)
		}
		user, err := shopper(c, tokens)
		if err != nil {
			fail("auth", err)
			return
		}
		a, err := pathActivity(c, cat)
		if err != nil {
			fail("not_found", err)
			return
		}
		id := a.ID
		act = a.ID
		c.Set(logGID, contract.PurchaseGID(id, user))
		t := now()
		if err := a.CheckOpen(t); err != nil {
			fail("time", err)
			return
		}
		if g.SoldOut.Is(id, t) {
			fail("sold_out", flashsale.ErrStockShort)
			return
		}
		var req buyRequest
		if err := decodeBody(c, &req, true); err != nil {
			fail("body", err)
			return
		}
		if !g.Secrets.Check(a, user, req.Secret) {
			fail("secret", contract.Errorf(contract.EBadSecret, "a valid start secret is required (GET /api/v1/activities/%d/secret)", id))
			return
		}
		ip := g.ClientIP.Of(c.Request)
		if g.Blacklist.Blocked(user, ip) {
			fail("blocked", contract.Errorf(contract.EBlocked, "this account or address may not buy"))
			return
		}
		// A fair start holds the first milliseconds' buys, then serves
		// them in a random order.
		if !g.FairStart.Hold(c.Request.Context(), a, t) {
			fail("fair_start", contract.Errorf(contract.EUnavailable, "the request ended while held for the fair start"))
			return
		}
		ctx := metrics.BuyPath(c)
		var gid string
		err = g.Breaker.Do(func() error {
			leave, ok := g.Admission.Enter(id)
			if !ok {
				return &rateLimited{wait: time.Second, admission: true}
			}
			defer leave()
			gid, err = buyer.Buy(ctx, a, user, g.Limiter.Windows(user, ip))
			var over *flashsale.OverLimit
			switch {
			case errors.As(err, &over):
				return &rateLimited{wait: over.Wait}
			case errors.Is(err, flashsale.ErrStockShort):
				g.SoldOut.Set(id, true)
			}
			return err
		})
		var rl *rateLimited
		if errors.As(err, &rl) {
			c.Header("Retry-After", strconv.Itoa(int((rl.wait+time.Second-1)/time.Second)))
			reason := "rate_limit"
			if rl.admission {
				reason = "admission"
			}
			fail(reason, contract.Errorf(contract.ERateLimited, "too many requests, retry later"))
			return
		}
		if err != nil {
			fail("", err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"status": "pending", "gid": gid})
	}
}

// rateLimited is a limit's answer, inside the breaker: an answer, not a
// failure of a server.
type rateLimited struct {
	wait      time.Duration
	admission bool
}

func (r *rateLimited) Error() string { return "rate limited" }

func unavailable(err error) error {
	return errors.Join(contract.Errorf(contract.EUnavailable, "the sale is unavailable, try again"), err)
}

// handleSecret gives a shopper the start secret of an open activity.
// handleSecret hands the shopper's start secret out once the sale is open;
// for a sale with a challenge difficulty, only against a solved challenge
// (?challenge=&solution=), each redeemed once.
func handleSecret(tokens TokenVerifier, cat flashsale.Catalog, g *gate.Set, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, a, err := shopperActivity(c, tokens, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		t := now()
		if err := a.CheckOpen(t); err != nil {
			writeError(c, log, err)
			return
		}
		if a.ChallengeDifficulty > 0 {
			if err := g.Challenges.Redeem(c, a, user, c.Query("challenge"), c.Query("solution"), t); err != nil {
				if contract.ErrorCode(err) == contract.EInternal {
					err = unavailable(err)
				}
				writeError(c, log, err)
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"secret": g.Secrets.For(a, user)})
	}
}

// handleChallenge issues a proof-of-work challenge for the shopper and the
// activity, any time before it ends. Its difficulty is the activity's,
// raised by 2 bits for each step of the admission bound's pressure on
// this instance (gate.Admission.Pressure): the harder the crowd pushes,
// the more each try costs.
func handleChallenge(tokens TokenVerifier, cat flashsale.Catalog, g *gate.Set, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, a, err := shopperActivity(c, tokens, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		t := now()
		if !t.Before(a.EndAt) {
			writeError(c, log, a.CheckOpen(t))
			return
		}
		if a.ChallengeDifficulty == 0 {
			writeError(c, log, contract.Errorf(contract.ENotFound, "this sale asks no challenge: get the secret directly"))
			return
		}
		d := min(a.ChallengeDifficulty+2*g.Admission.Pressure(a.ID), gate.MaxDifficulty+4)
		c.JSON(http.StatusOK, g.Challenges.Issue(a, user, d, t))
	}
}
