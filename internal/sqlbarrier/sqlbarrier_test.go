package sqlbarrier_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"github.com/flashsale/flashsale/internal/sqlconn"
)

// TestInsertRowsSkipsRowsThere: the statement inserts every new row and
// skips, without an error, those already there.
func TestInsertRowsSkipsRowsThere(t *testing.T) {
	ctx := context.Background()
	db, err := sqlconn.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	row := func(gid string) []any { return []any{"msg", gid, "01", "action", "01", "action"} }
	if _, err := sqlDB.ExecContext(ctx, sqlbarrier.InsertRows(sqlbarrier.SQLite, 1), row("g1")...); err != nil {
		t.Fatal(err)
	}
	res, err := sqlDB.ExecContext(ctx, sqlbarrier.InsertRows(sqlbarrier.Dialect(db), 3), append(append(row("g1"), row("g2")...), row("g3")...)...)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 2 {
		t.Fatalf("inserted %d rows (%v), want the 2 new ones", n, err)
	}
}
