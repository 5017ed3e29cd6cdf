// Package flashsale holds the domain of the shopper-facing service: products,
// activities, purchases, the error codes of the HTTP contract, and the
// interfaces of the stores the service talks to. Adapters live in
// subpackages: rediscache (stock and barrier in Redis), mysqldb (catalog and
// order reads), purchase (the DTM two-phase message), httpapi (HTTP).
package flashsale

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

// Product is a thing for sale.
type Product struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	ImageURL    string `json:"image_url"`
}

// Activity is one flash sale: Total units of a product at Price, open from
// StartAt (inclusive) to EndAt (exclusive) by server time.
type Activity struct {
	ID                int64
	Name              string
	Product           Product
	Price             int64
	Total             int
	StartAt           time.Time
	EndAt             time.Time
	PayTimeoutSeconds int
	// Shards is the number of Redis slots its units are split over (1 to
	// contract.MaxShards), fixed at creation.
	Shards int
	// ChallengeDifficulty, when above 0, is the proof of work (in bits,
	// package gate) a shopper solves before the start secret is handed out.
	ChallengeDifficulty int
	// FairStartMS, when above 0, holds the buys of the first FairStartMS
	// milliseconds after the start and serves them in a random order
	// (package gate).
	FairStartMS int
}

// Layout returns the activity's stock layout in Redis.
func (a Activity) Layout() contract.Shards {
	return contract.Shards{Activity: a.ID, N: max(a.Shards, 1)}
}

// Activity statuses, as the shopper API names them.
const (
	StatusUpcoming = "upcoming"
	StatusOpen     = "open"
	StatusSoldOut  = "sold_out"
	StatusEnded    = "ended"
)

// Status returns the activity's status at now given whether its stock is
// exhausted.
func (a Activity) Status(now time.Time, soldOut bool) string {
	switch {
	case now.Before(a.StartAt):
		return StatusUpcoming
	case !now.Before(a.EndAt):
		return StatusEnded
	case soldOut:
		return StatusSoldOut
	default:
		return StatusOpen
	}
}

// CheckOpen returns nil when a purchase may be attempted at now, or an
// Error with code ENotStarted or EEnded.
func (a Activity) CheckOpen(now time.Time) error {
	if now.Before(a.StartAt) {
		return contract.Errorf(contract.ENotStarted, "the sale starts at %s", a.StartAt.UTC().Format(time.RFC3339))
	}
	if !now.Before(a.EndAt) {
		return contract.Errorf(contract.EEnded, "the sale ended at %s", a.EndAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Stock is the Redis side of a sale: the stock counters of each activity,
// split over its shards (contract.Shards), and the barrier keys of its
// messages, each in its message's home shard.
type Stock interface {
	// Preheat splits units over the activity's shards.
	Preheat(ctx context.Context, activityID int64, shards, units int) error
	// Remaining returns the sum of the activity's counters; ok is false
	// when one is missing, or stale: set before a restart of the store
	// that may have lost writes, so that it must be re-derived (package
	// restock).
	Remaining(ctx context.Context, activityID int64) (units int64, ok bool, err error)
	// Shares returns the counter of every shard of the activity.
	Shares(ctx context.Context, activityID int64) ([]ShardStock, error)
	// CheckBuy is the buy path's first Redis call: it counts the buy in
	// every rate window and, unless one is over its limit, reads the
	// counter of the home shard of the purchase gid as Remaining does (in
	// one round trip where the keys share a server).
	CheckBuy(ctx context.Context, activityID int64, gid string, windows []RateWindow) (BuyCheck, error)
	// Take is the local step of a purchase message: it checks the barrier
	// named barrier and takes one unit, from the message's home shard or,
	// when that one is empty, from the next shard holding one (each step
	// one atomic call). It returns ErrDuplicate or ErrRolledBack when the
	// barrier is already set, and ErrStockShort when no shard has a unit
	// left (or the counter is missing), and ErrStale, taking nothing,
	// while a counter it reaches is stale, and ErrClosed once the activity
	// is closed.
	Take(ctx context.Context, activityID int64, barrier string) error
	// Close marks the activity closed: no Take succeeds after it returns.
	Close(ctx context.Context, activityID int64) error
	// QueryPrepared is the back-check: it returns nil when the local step
	// committed, and ErrRolledBack after closing the barrier when it had not.
	QueryPrepared(ctx context.Context, activityID int64, barrier string) error
	// Barrier returns the state of a barrier: BarrierAbsent, BarrierTaken
	// or BarrierRollback.
	Barrier(ctx context.Context, activityID int64, barrier string) (string, error)
	// Freeze starts a re-derivation: every shard of the activity stops
	// taking units. It returns the token Restore takes, "" when nothing
	// is missing or stale any more, or ErrRederiving while another
	// re-derivation holds the activity.
	Freeze(ctx context.Context, activityID int64) (token string, err error)
	// Restore ends the re-derivation token started: it splits units over
	// the shards and marks the barriers named taken, keeping any barrier
	// that already has a value. It returns ErrRederiving when another
	// re-derivation froze the activity since (its result wins).
	Restore(ctx context.Context, activityID int64, token string, units int64, taken []string) error
	// Taken returns the gids of the activity's messages whose local step
	// holds units (barrier "op"): purchases and removals.
	Taken(ctx context.Context, activityID int64) ([]string, error)
	// Compensate puts back the n units the local step of a failed message
	// took and closes its barrier ("rollback"), at most once; it reports
	// whether this call put them back, and returns ErrStale, changing
	// nothing, while the counter must be re-derived first.
	Compensate(ctx context.Context, activityID int64, barrier string, n int) (bool, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// ShardStock is one shard's counter.
type ShardStock struct {
	Index int
	Units int64
	// Loaded is false when the counter is missing or stale.
	Loaded bool
}

// RateWindow is one rate limit of the buy path, counted in Redis so that
// it holds across every instance: at most Limit buys in the current
// one-second window under Key (which names the second).
type RateWindow struct {
	Key   string
	Limit int
}

// BuyCheck is what Stock.CheckBuy learns.
type BuyCheck struct {
	// Wait is zero when every window allowed the buy, else how long until
	// the window over its limit ends (the counter was not read).
	Wait time.Duration
	// Units is the home shard's counter, when Loaded.
	Units int64
	// Shards is the activity's number of shards: with more than one, an
	// empty home shard does not mean that the sale is sold out.
	Shards int
	// Loaded is false when the counter is missing or stale (Remaining's
	// ok).
	Loaded bool
}

// Catalog stores products and activities (MySQL).
type Catalog interface {
	// CreateProduct inserts p and returns it with its id.
	CreateProduct(ctx context.Context, p Product) (Product, error)
	// CreateActivity inserts a and its DB stock row (Total units) in one
	// transaction. It returns ENotFound when the product does not exist.
	CreateActivity(ctx context.Context, a Activity) (Activity, error)
	// Activity returns one activity with its product, or ENotFound.
	Activity(ctx context.Context, id int64) (Activity, error)
	// Activities returns every activity, newest first.
	Activities(ctx context.Context) ([]Activity, error)
	// CancelActivity ends the activity at now (Activity.Cancelled) and
	// returns it, or ENotFound.
	CancelActivity(ctx context.Context, id int64, now time.Time) (Activity, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// OrderCounts counts an activity's orders by status.
type OrderCounts struct {
	Pending   int `json:"pending"`
	Created   int `json:"created"`
	Paid      int `json:"paid"`
	Cancelled int `json:"cancelled"`
}

// OrderReader reads what the order service wrote.
type OrderReader interface {
	// OrderOf returns user's order in activity, or ENotFound.
	OrderOf(ctx context.Context, activityID int64, userID string) (contract.Order, error)
	// Counts returns the activity's orders by status and its DB stock.
	Counts(ctx context.Context, activityID int64) (OrderCounts, int, error)
	// OrderGIDs returns the gids of the activity's orders, cancelled or
	// not, and of those cancelled, in one read.
	OrderGIDs(ctx context.Context, activityID int64) (gids, cancelled []string, err error)
	// Ledger returns the activity's total and the adjustments it
	// includes, in one read.
	Ledger(ctx context.Context, activityID int64) (Ledger, error)
	// Adjustments lists the adjustments applied to the activity's total,
	// oldest first.
	Adjustments(ctx context.Context, activityID int64) ([]AppliedAdjustment, error)
}
