package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/gin-gonic/gin"
)

// activityJSON is an activity as docs/api.md shows it.
type activityJSON struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Product       flashsale.Product `json:"product"`
	Price         int64             `json:"price"`
	OriginalPrice int64             `json:"original_price"`
	Total         int               `json:"total"`
	StartAt       time.Time         `json:"start_at"`
	EndAt         time.Time         `json:"end_at"`
	PerUserLimit  int               `json:"per_user_limit"`
	// ChallengeDifficulty is the proof of work before the secret (bits,
	// before the load raises it; 0: none).
	ChallengeDifficulty int `json:"challenge_difficulty"`
	// FairStartMS is the fair-start window (0: none).
	FairStartMS int       `json:"fair_start_ms"`
	Status      string    `json:"status"`
	ServerTime  time.Time `json:"server_time"`
}

func toActivityJSON(a flashsale.Activity, now time.Time, soldOut bool) activityJSON {
	return activityJSON{
		ID: a.ID, Name: a.Name, Product: a.Product, Price: a.Price, OriginalPrice: a.Product.Price,
		Total: a.Total, StartAt: a.StartAt.UTC(), EndAt: a.EndAt.UTC(), PerUserLimit: 1, ChallengeDifficulty: a.ChallengeDifficulty, FairStartMS: a.FairStartMS,
		Status: a.Status(now, soldOut), ServerTime: now.UTC(),
	}
}

// soldOut reads the activity's stock counter; an unreadable one is not
// reported as sold out.
func soldOut(ctx context.Context, stock flashsale.Stock, id int64) bool {
	n, ok, err := stock.Remaining(ctx, id)
	return err == nil && ok && n <= 0
}

func handleTime(now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"server_time": now().UTC()})
	}
}

func handleActivities(cat flashsale.Catalog, stock flashsale.Stock, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		list, err := cat.Activities(c)
		if err != nil {
			writeError(c, log, err)
			return
		}
		t := now()
		out := make([]activityJSON, len(list))
		for i, a := range list {
			out[i] = toActivityJSON(a, t, soldOut(c, stock, a.ID))
		}
		c.JSON(http.StatusOK, gin.H{"activities": out})
	}
}

func handleActivity(cat flashsale.Catalog, stock flashsale.Stock, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, err := pathActivity(c, cat)
		if err != nil {
			writeError(c, log, err)
			return
		}
		id := a.ID
		c.JSON(http.StatusOK, toActivityJSON(a, now(), soldOut(c, stock, id)))
	}
}
