// Package mysqldb stores the flash sale's catalog (products, activities and
// their DB stock) in MySQL with gorm, and reads the orders the order service
// writes to the same database.
package mysqldb

import "time"

type productRow struct {
	ID          int64
	Name        string
	Description string
	Price       int64
	ImageURL    string
	CreatedAt   time.Time
}

func (productRow) TableName() string { return "products" }

type activityRow struct {
	ID                int64
	Name              string
	ProductID         int64
	Price             int64
	Total             int
	StartAt           time.Time
	EndAt             time.Time
	PayTimeoutSeconds int
	Shards            int
	// ChallengeDifficulty is flashsale.Activity's.
	ChallengeDifficulty int
	FairStartMS         int `gorm:"column:fair_start_ms"`
	CreatedAt           time.Time
	Product             productRow `gorm:"foreignKey:ProductID"`
}

func (activityRow) TableName() string { return "activities" }

type stockRow struct {
	ActivityID int64 `gorm:"primaryKey"`
	Total      int
	Stock      int
}

func (stockRow) TableName() string { return "activity_stock" }

type orderRow struct {
	ID          int64
	GID         string `gorm:"column:gid"`
	ActivityID  int64
	UserID      string
	ProductID   int64
	Price       int64
	Status      string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	PaidAt      *time.Time
	CancelledAt *time.Time
}

func (orderRow) TableName() string { return "orders" }
