// Package mysqldb stores the flash sale's catalog (products, activities and
// the admins' stock adjustments) in MySQL with gorm. It writes an
// activity's DB stock, and reads the orders the order service writes to the
// same database, through the contract's shared tables
// (internal/contract/tables.go).
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
