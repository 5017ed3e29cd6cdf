package mysqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/mysqldb"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/testenv"
)

// TestCreatedActivityEqualsReadBack: the activity CreateActivity returns
// (which the cache stores) must equal the one read back from MySQL, to the
// nanosecond: the start secrets are an HMAC over StartAt, so a difference
// makes one instance refuse the secret another gave (found by the chaos
// suite: 403 bad_secret after a Redis restart sent reads to MySQL).
func TestCreatedActivityEqualsReadBack(t *testing.T) {
	ctx := context.Background()
	db, err := sqlconn.OpenMySQL(ctx, testenv.MySQLDSN(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	cat := mysqldb.NewCatalog(db)
	p, err := cat.CreateProduct(ctx, flashsale.Product{Name: "p", Price: 100})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	created, err := cat.CreateActivity(ctx, flashsale.Activity{
		Name: "a", Product: p, Price: 50, Total: 5, StartAt: start, EndAt: start.Add(time.Hour + 999999999),
	})
	if err != nil {
		t.Fatal(err)
	}
	read, err := cat.Activity(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !created.StartAt.Equal(read.StartAt) || !created.EndAt.Equal(read.EndAt) {
		t.Fatalf("created start %s end %s, read back start %s end %s", created.StartAt, created.EndAt, read.StartAt, read.EndAt)
	}
}
