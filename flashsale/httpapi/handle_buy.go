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
	b := &buyHandler{tokens: tokens, cat: cat, buyer: buyer, g: g, m: m, now: now, log: log}
	return b.serve
}

// buyHandler is the buy endpoint and what it uses.
type buyHandler struct {
	tokens TokenVerifier
	cat    flashsale.Catalog
	buyer  Purchaser
	g      *gate.Set
	m      *metrics.Metrics
	now    func() time.Time
	log    *slog.Logger
}

// buy is one shopper's buy, as far as the steps got: who, which
// activity (the sale view's tallies are per activity), from where.
type buy struct {
	user string
	a    flashsale.Activity
	ip   string
}

// serve takes one buy through its steps, each run only when the ones
// before it let the buy through, then answers it.
func (h *buyHandler) serve(c *gin.Context) {
	start := time.Now()
	var b buy
	var gid string
	reason, err := h.identify(c, &b)
	if err == nil {
		reason, err = h.gates(c, &b)
	}
	if err == nil {
		gid, reason, err = h.purchase(c, &b)
	}
	h.answer(c, b.a.ID, gid, reason, err)
	h.m.BuySeconds.Observe(time.Since(start).Seconds())
}

// identify authenticates the shopper and finds the activity. It returns
// the gate that turned the buy away, with its error.
func (h *buyHandler) identify(c *gin.Context, b *buy) (reason string, err error) {
	if b.user, err = shopper(c, h.tokens); err != nil {
		return "auth", err
	}
	a, err := pathActivity(c, h.cat)
	if err != nil {
		return "not_found", err
	}
	b.a = a
	c.Set(logGID, contract.PurchaseGID(b.a.ID, b.user))
	return "", nil
}

// gates runs the in-memory gates, cheapest first. It returns the gate that
// turned the buy away, with its error.
func (h *buyHandler) gates(c *gin.Context, b *buy) (reason string, err error) {
	t := h.now()
	if err := b.a.CheckOpen(t); err != nil {
		return "time", err
	}
	if h.g.SoldOut.Is(b.a.ID, t) {
		return "sold_out", flashsale.ErrStockShort
	}
	var req buyRequest
	if err := decodeBody(c, &req, true); err != nil {
		return "body", err
	}
	if !h.g.Secrets.Check(b.a, b.user, req.Secret) {
		return "secret", contract.Errorf(contract.EBadSecret, "a valid start secret is required (GET /api/v1/activities/%d/secret)", b.a.ID)
	}
	b.ip = h.g.ClientIP.Of(c.Request)
	if h.g.Blacklist.Blocked(b.user, b.ip) {
		return "blocked", contract.Errorf(contract.EBlocked, "this account or address may not buy")
	}
	// A fair start holds the first milliseconds' buys, then serves them in
	// a random order.
	if !h.g.FairStart.Hold(c.Request.Context(), b.a, t) {
		return "fair_start", contract.Errorf(contract.EUnavailable, "the request ended while held for the fair start")
	}
	return "", nil
}

// purchase runs the purchase message behind the breaker and the
// activity's admission bound, and returns its gid. A buy turned away by a
// limit gets its Retry-After header and the limit's name as the reason.
func (h *buyHandler) purchase(c *gin.Context, b *buy) (gid, reason string, err error) {
	ctx := metrics.BuyPath(c)
	err = h.g.Breaker.Do(func() error {
		leave, ok := h.g.Admission.Enter(b.a.ID)
		if !ok {
			return &rateLimited{wait: time.Second, admission: true}
		}
		defer leave()
		gid, err = h.buyer.Buy(ctx, b.a, b.user, h.g.Limiter.Windows(b.user, b.ip))
		var over *flashsale.OverLimit
		switch {
		case errors.As(err, &over):
			return &rateLimited{wait: over.Wait}
		case errors.Is(err, flashsale.ErrStockShort):
			h.g.SoldOut.Set(b.a.ID, true)
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
		return "", reason, contract.Errorf(contract.ERateLimited, "too many requests, retry later")
	}
	return gid, "", err
}

// answer writes the buy's answer, gid accepted or err, and counts it by
// outcome and, when a gate turned it away, by reason.
func (h *buyHandler) answer(c *gin.Context, act int64, gid, reason string, err error) {
	outcome := "accepted"
	if err != nil {
		outcome = contract.ErrorCode(err)
		if reason != "" {
			h.m.GateRejects.WithLabelValues(reason).Inc()
		}
		writeError(c, h.log, err)
	} else {
		c.JSON(http.StatusAccepted, gin.H{"status": "pending", "gid": gid})
	}
	h.m.Buys.WithLabelValues(outcome).Inc()
	h.m.Sales.Record(act, outcome, reason)
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
