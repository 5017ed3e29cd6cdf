package mysqldb

import (
	"context"
	"errors"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"gorm.io/gorm"
)

// Catalog implements flashsale.Catalog and flashsale.OrderReader.
type Catalog struct {
	db *gorm.DB
}

// NewCatalog returns a Catalog on db (schema applied by sqlconn).
func NewCatalog(db *gorm.DB) *Catalog { return &Catalog{db: db} }

var (
	_ flashsale.Catalog     = (*Catalog)(nil)
	_ flashsale.OrderReader = (*Catalog)(nil)
)

// CreateProduct inserts p.
func (c *Catalog) CreateProduct(ctx context.Context, p flashsale.Product) (flashsale.Product, error) {
	row := productRow{Name: p.Name, Description: p.Description, Price: p.Price, ImageURL: p.ImageURL, CreatedAt: time.Now().UTC()}
	if err := c.db.WithContext(ctx).Create(&row).Error; err != nil {
		return flashsale.Product{}, err
	}
	return toProduct(row), nil
}

// CreateActivity inserts a and its DB stock row in one transaction.
func (c *Catalog) CreateActivity(ctx context.Context, a flashsale.Activity) (flashsale.Activity, error) {
	// Times are cut to the column's precision (DATETIME(3)) before the
	// insert, so that the activity returned here (and cached) equals the
	// one read back later: the start secrets are an HMAC over StartAt.
	row := activityRow{
		Name: a.Name, ProductID: a.Product.ID, Price: a.Price, Total: a.Total,
		StartAt: a.StartAt.UTC().Truncate(time.Millisecond), EndAt: a.EndAt.UTC().Truncate(time.Millisecond),
		PayTimeoutSeconds: a.PayTimeoutSeconds, Shards: max(a.Shards, 1), ChallengeDifficulty: a.ChallengeDifficulty, FairStartMS: a.FairStartMS, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var p productRow
		if err := tx.First(&p, a.Product.ID).Error; err != nil {
			return notFound(err, "product %d does not exist", a.Product.ID)
		}
		row.Product = p
		if err := tx.Omit("Product").Create(&row).Error; err != nil {
			return err
		}
		return contract.CreateStock(ctx, tx.Statement.ConnPool, row.ID, a.Total)
	})
	if err != nil {
		return flashsale.Activity{}, err
	}
	return toActivity(row), nil
}

// Activity returns one activity with its product.
func (c *Catalog) Activity(ctx context.Context, id int64) (flashsale.Activity, error) {
	var row activityRow
	if err := c.db.WithContext(ctx).Preload("Product").First(&row, id).Error; err != nil {
		return flashsale.Activity{}, notFound(err, "activity %d does not exist", id)
	}
	return toActivity(row), nil
}

// Activities returns every activity, newest first.
func (c *Catalog) Activities(ctx context.Context) ([]flashsale.Activity, error) {
	var rows []activityRow
	if err := c.db.WithContext(ctx).Preload("Product").Order("id DESC").Limit(1000).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]flashsale.Activity, len(rows))
	for i, r := range rows {
		out[i] = toActivity(r)
	}
	return out, nil
}

// OrderOf returns user's order in activity.
func (c *Catalog) OrderOf(ctx context.Context, activityID int64, userID string) (contract.Order, error) {
	var row contract.OrderRow
	err := c.db.WithContext(ctx).Where("activity_id = ? AND user_id = ?", activityID, userID).Take(&row).Error
	if err != nil {
		return contract.Order{}, notFound(err, "no order")
	}
	return row.Order(), nil
}

// OrderGIDs returns the gids of the activity's orders and of the cancelled
// ones.
func (c *Catalog) OrderGIDs(ctx context.Context, activityID int64) ([]string, []string, error) {
	var rows []contract.OrderRow
	if err := c.db.WithContext(ctx).Select("gid, status").Where("activity_id = ?", activityID).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	gids := make([]string, len(rows))
	var cancelled []string
	for i, r := range rows {
		gids[i] = r.GID
		if r.Status == "cancelled" {
			cancelled = append(cancelled, r.GID)
		}
	}
	return gids, cancelled, nil
}

// Counts returns the activity's orders by status and its DB stock.
func (c *Catalog) Counts(ctx context.Context, activityID int64) (flashsale.OrderCounts, int, error) {
	var counts flashsale.OrderCounts
	var rows []struct {
		Status string
		N      int
	}
	db := c.db.WithContext(ctx)
	if err := db.Model(&contract.OrderRow{}).Select("status, COUNT(*) AS n").Where("activity_id = ?", activityID).Group("status").Scan(&rows).Error; err != nil {
		return counts, 0, err
	}
	for _, r := range rows {
		switch r.Status {
		case "pending":
			counts.Pending = r.N
		case "created":
			counts.Created = r.N
		case "paid":
			counts.Paid = r.N
		case "cancelled":
			counts.Cancelled = r.N
		}
	}
	var st contract.StockRow
	if err := db.First(&st, "activity_id = ?", activityID).Error; err != nil {
		return counts, 0, notFound(err, "activity %d has no DB stock", activityID)
	}
	return counts, st.Stock, nil
}

// Ping checks that the database answers.
func (c *Catalog) Ping(ctx context.Context) error {
	sqlDB, err := c.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return contract.Errorf(contract.ENotFound, format, args...)
	}
	return err
}

func toProduct(r productRow) flashsale.Product {
	return flashsale.Product{ID: r.ID, Name: r.Name, Description: r.Description, Price: r.Price, ImageURL: r.ImageURL}
}

func toActivity(r activityRow) flashsale.Activity {
	return flashsale.Activity{
		ID: r.ID, Name: r.Name, Product: toProduct(r.Product), Price: r.Price, Total: r.Total,
		StartAt: r.StartAt.UTC(), EndAt: r.EndAt.UTC(), PayTimeoutSeconds: r.PayTimeoutSeconds, Shards: r.Shards, ChallengeDifficulty: r.ChallengeDifficulty, FairStartMS: r.FairStartMS,
	}
}
