package httpapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/gin-gonic/gin"
)

// requireAdmin admits requests bearing the admin token; a shopper's token,
// or any other, gets 401.
func requireAdmin(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		got := bearer(c)
		if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			c.AbortWithStatusJSON(contract.Fail(contract.EUnauthorized, "the admin token is required"))
			return
		}
		c.Next()
	}
}

// validateProduct checks a product's body (NewProduct in
// internal/api/openapi.yaml); its error names the field.
func validateProduct(r api.NewProduct) error {
	switch {
	case !textOK(r.Name, 1, 128):
		return contract.FieldErrorf("name", "name must be 1-128 characters")
	case !textOK(r.Description, 0, 4000):
		return contract.FieldErrorf("description", "description must be at most 4000 characters")
	case r.Price <= 0:
		return contract.FieldErrorf("price", "price must be a positive integer")
	case !textOK(r.ImageURL, 0, 512) || strings.ContainsAny(r.ImageURL, " \n\r\t\"'<>"):
		return contract.FieldErrorf("image_url", "image_url must be a URL of at most 512 characters")
	}
	return nil
}

func handleCreateProduct(cat flashsale.Catalog, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req api.NewProduct
		if err := decodeBody(c, &req, false); err != nil {
			writeError(c, log, err)
			return
		}
		if err := validateProduct(req); err != nil {
			writeError(c, log, err)
			return
		}
		p, err := cat.CreateProduct(c, flashsale.Product{Name: req.Name, Description: req.Description, Price: req.Price, ImageURL: req.ImageURL})
		if err != nil {
			writeError(c, log, err)
			return
		}
		c.JSON(http.StatusCreated, p)
	}
}

// MaxTotal bounds an activity's units, at creation and after additions.
const MaxTotal = 10_000_000

const defaultPayTimeout = 900

// validateActivity checks an activity's body (NewActivity in
// internal/api/openapi.yaml), its error naming the field, and fills in the
// defaults of the fields left out.
func validateActivity(r *api.NewActivity) error {
	if r.PayTimeoutSeconds == 0 {
		r.PayTimeoutSeconds = defaultPayTimeout
	}
	if r.Shards == 0 {
		r.Shards = 1
	}
	switch {
	case !textOK(r.Name, 1, 128):
		return contract.FieldErrorf("name", "name must be 1-128 characters")
	case r.ProductID <= 0:
		return contract.FieldErrorf("product_id", "product_id must be a positive integer")
	case r.Price <= 0:
		return contract.FieldErrorf("price", "price must be a positive integer")
	case r.Total <= 0 || r.Total > MaxTotal:
		return contract.FieldErrorf("total", "total must be 1-%d", MaxTotal)
	case r.StartAt.IsZero():
		return contract.FieldErrorf("start_at", "start_at is required (RFC 3339)")
	case r.EndAt.IsZero():
		return contract.FieldErrorf("end_at", "end_at is required (RFC 3339)")
	case !r.EndAt.After(r.StartAt):
		return contract.FieldErrorf("end_at", "end_at must be after start_at")
	case r.PayTimeoutSeconds < 10 || r.PayTimeoutSeconds > 86400:
		return contract.FieldErrorf("pay_timeout_seconds", "pay_timeout_seconds must be 10-86400")
	case r.Shards < 1 || r.Shards > contract.MaxShards:
		return contract.FieldErrorf("shards", "shards must be 1-%d", contract.MaxShards)
	case r.Shards > r.Total:
		return contract.FieldErrorf("shards", "shards must be at most total")
	case r.ChallengeDifficulty < 0 || r.ChallengeDifficulty > gate.MaxDifficulty:
		return contract.FieldErrorf("challenge_difficulty", "challenge_difficulty must be 0-%d bits", gate.MaxDifficulty)
	case r.FairStartMS < 0 || r.FairStartMS > int(gate.MaxFairStart/time.Millisecond):
		return contract.FieldErrorf("fair_start_ms", "fair_start_ms must be 0-%d", gate.MaxFairStart/time.Millisecond)
	}
	return nil
}

// handleCreateActivity creates the activity and its DB stock, then preheats
// its Redis stock.
func handleCreateActivity(cat flashsale.Catalog, stock flashsale.Stock, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req api.NewActivity
		if err := decodeBody(c, &req, false); err != nil {
			writeError(c, log, err)
			return
		}
		if err := validateActivity(&req); err != nil {
			writeError(c, log, err)
			return
		}
		a, err := cat.CreateActivity(c, flashsale.Activity{
			Name: req.Name, Product: flashsale.Product{ID: req.ProductID}, Price: req.Price, Total: req.Total,
			StartAt: req.StartAt, EndAt: req.EndAt, PayTimeoutSeconds: req.PayTimeoutSeconds, Shards: req.Shards, ChallengeDifficulty: req.ChallengeDifficulty, FairStartMS: req.FairStartMS,
		})
		if err != nil {
			writeError(c, log, err)
			return
		}
		if err := stock.Preheat(c, a.ID, a.Layout().N, a.Total); err != nil {
			writeError(c, log, contract.Errorf(contract.EUnavailable, "activity %d created but its stock is not in Redis: %v", a.ID, err))
			return
		}
		c.JSON(http.StatusCreated, toActivityJSON(a, now(), false))
	}
}

func handleStats(cat flashsale.Catalog, stock flashsale.Stock, orders flashsale.OrderReader, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id := a.ID
		counts, dbStock, err := orders.Counts(c, id)
		if err != nil {
			writeError(c, log, err)
			return
		}
		shares, err := stock.Shares(c, id)
		if err != nil {
			writeError(c, log, contract.Errorf(contract.EUnavailable, "redis: %v", err))
			return
		}
		// A counter missing or stale reads null, and so does the sum.
		var sum int64
		loaded := true
		shards := make([]gin.H, len(shares))
		for i, sh := range shares {
			var n any
			if sh.Loaded {
				n, sum = sh.Units, sum+sh.Units
			}
			loaded = loaded && sh.Loaded
			shards[i] = gin.H{"index": sh.Index, "redis_stock": n}
		}
		var redisStock any
		if loaded {
			redisStock = sum
		}
		c.JSON(http.StatusOK, gin.H{"total": a.Total, "redis_stock": redisStock, "shards": shards, "orders": counts, "db_stock": dbStock})
	}
}

// handleReconcile checks I1-I5 (docs/architecture.md) for ?activity=<id>.
func handleReconcile(cat flashsale.Catalog, check func(context.Context, int64) (reconcile.Report, error), log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Query("activity"), 10, 64)
		if err != nil || id <= 0 {
			writeError(c, log, contract.Errorf(contract.ENotFound, "no such activity"))
			return
		}
		if _, err := cat.Activity(c, id); err != nil {
			writeError(c, log, err)
			return
		}
		r, err := check(c, id)
		if err != nil {
			writeError(c, log, contract.Errorf(contract.EUnavailable, "reconciliation could not read the stores: %v", err))
			return
		}
		c.JSON(http.StatusOK, gin.H{"ok": r.OK(), "violations": r.Violations, "report": r})
	}
}

// textOK reports whether s is valid UTF-8 of min to max characters without
// control characters.
func textOK(s string, min, max int) bool {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < min || n > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}
