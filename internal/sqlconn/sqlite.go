package sqlconn

import (
	"context"
	"fmt"
	"net/url"

	barriersql "github.com/flashsale/flashsale/barrier_sql"
	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// OpenSQLite opens (creating it when missing) the SQLite file at path, the
// embedded mode's SQL store, pure Go (no cgo), and applies the schema.
//
// SQLite has one writer at a time, so the pool holds one connection: every
// transaction runs alone, which keeps the barrier's INSERT OR IGNORE, the
// order insert and the stock decrement serialised without SQLITE_BUSY. WAL
// with synchronous=NORMAL keeps every committed transaction across a
// process crash.
func OpenSQLite(ctx context.Context, path string) (*gorm.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	db, err := gorm.Open(sqlite.Open("file:"+path+"?"+q.Encode()), &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 logger.Default.LogMode(logger.Silent),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	if err := barriersql.Migrate(ctx, sqlDB, "sqlite"); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}
