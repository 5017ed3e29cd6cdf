package mysqldb_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/mysqldb"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/testenv"
	"gorm.io/gorm"
)

// catalogs runs f on a catalog over MySQL and over SQLite (the embedded
// mode), each with one activity of total units.
func catalogs(t *testing.T, total int, f func(t *testing.T, cat *mysqldb.Catalog, a flashsale.Activity)) {
	open := map[string]func(t *testing.T) (*gorm.DB, error){
		"MySQL": func(t *testing.T) (*gorm.DB, error) {
			return sqlconn.OpenMySQL(context.Background(), testenv.MySQLDSN(t), 8)
		},
		"SQLite": func(t *testing.T) (*gorm.DB, error) {
			return sqlconn.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "fs.db"))
		},
	}
	for _, name := range []string{"MySQL", "SQLite"} {
		t.Run(name, func(t *testing.T) {
			db, err := open[name](t)
			if err != nil {
				t.Fatal(err)
			}
			cat := mysqldb.NewCatalog(db)
			ctx := context.Background()
			p, err := cat.CreateProduct(ctx, flashsale.Product{Name: "p", Price: 100})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			a, err := cat.CreateActivity(ctx, flashsale.Activity{
				Name: "a", Product: p, Price: 50, Total: total, StartAt: now.Add(time.Hour), EndAt: now.Add(2 * time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			f(t, cat, a)
		})
	}
}

func barrier(t *testing.T, gid, branch, op string) *dtmcli.BranchBarrier {
	t.Helper()
	bb, err := dtmcli.BarrierFrom("msg", gid, branch, op)
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

// checkLedger checks the activity's total in both tables, its DB stock and
// the adjustments the ledger lists.
func checkLedger(t *testing.T, cat *mysqldb.Catalog, id int64, total int, applied ...string) {
	t.Helper()
	ctx := context.Background()
	l, err := cat.Ledger(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cat.Activity(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, dbStock, err := cat.Counts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != total || a.Total != total || dbStock != total || len(l.Applied) != len(applied) {
		t.Fatalf("ledger total %d, activity total %d, DB stock %d, %d applied; want %d, %d applied", l.Total, a.Total, dbStock, len(l.Applied), total, len(applied))
	}
	for _, g := range applied {
		if !l.Applied[g] {
			t.Fatalf("ledger lacks %s", g)
		}
	}
}

// TestAddUnitsOnce: an addition's local step raises the totals and the DB
// stock once, a second run finds its barrier, and the back-check reports it
// committed; a back-check that comes first closes the barrier, so a late
// local step commits nothing.
func TestAddUnitsOnce(t *testing.T) {
	catalogs(t, 10, func(t *testing.T, cat *mysqldb.Catalog, a flashsale.Activity) {
		ctx := context.Background()
		add := contract.Adjustment{ActivityID: a.ID, Delta: 5, RequestID: "a1"}.GID()
		local := func(gid string) error {
			return cat.AddUnits(ctx, barrier(t, gid, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp), a.ID, 5, 100)
		}
		if err := local(add); err != nil {
			t.Fatal(err)
		}
		if err := local(add); !errors.Is(err, dtmcli.ErrDuplicated) {
			t.Fatalf("second local step: %v, want ErrDuplicated", err)
		}
		if ok, err := cat.AddCommitted(ctx, add); err != nil || !ok {
			t.Fatalf("back-check of a committed addition: %v, %v", ok, err)
		}
		checkLedger(t, cat, a.ID, 15, add)

		late := contract.Adjustment{ActivityID: a.ID, Delta: 5, RequestID: "a2"}.GID()
		if ok, err := cat.AddCommitted(ctx, late); err != nil || ok {
			t.Fatalf("back-check before the local step: %v, %v; want not committed", ok, err)
		}
		if err := local(late); !errors.Is(err, dtmcli.ErrDuplicated) {
			t.Fatalf("local step after the back-check: %v, want ErrDuplicated", err)
		}
		checkLedger(t, cat, a.ID, 15, add)

		big := contract.Adjustment{ActivityID: a.ID, Delta: 90, RequestID: "a3"}.GID()
		err := cat.AddUnits(ctx, barrier(t, big, dtmimp.MsgDoBranch0, dtmimp.MsgDoOp), a.ID, 90, 100)
		if contract.ErrorCode(err) != contract.EBadRequest {
			t.Fatalf("an addition past the maximum: %v, want bad_request", err)
		}
		checkLedger(t, cat, a.ID, 15, add)
	})
}

// TestRemoveUnitsOnce: a removal's branch lowers the totals and the DB
// stock once however often it is delivered.
func TestRemoveUnitsOnce(t *testing.T) {
	catalogs(t, 10, func(t *testing.T, cat *mysqldb.Catalog, a flashsale.Activity) {
		ctx := context.Background()
		rm := contract.Adjustment{ActivityID: a.ID, Delta: -4, RequestID: "r1"}.GID()
		for i := 0; i < 3; i++ {
			if err := cat.RemoveUnits(ctx, barrier(t, rm, contract.FirstBranch, dtmimp.OpAction), a.ID, 4); err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
		}
		checkLedger(t, cat, a.ID, 6, rm)
	})
}

// TestCancelActivity: a cancelled activity reads as ended from then on,
// an upcoming one included; cancelling it again changes nothing.
func TestCancelActivity(t *testing.T) {
	catalogs(t, 10, func(t *testing.T, cat *mysqldb.Catalog, a flashsale.Activity) {
		ctx := context.Background()
		now := time.Now()
		if got := a.Status(now, false); got != flashsale.StatusUpcoming {
			t.Fatalf("status %s before, want upcoming", got)
		}
		c, err := cat.CancelActivity(ctx, a.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		read, err := cat.Activity(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !read.EndAt.Equal(c.EndAt) || read.Status(now, false) != flashsale.StatusEnded || read.CheckOpen(now) == nil {
			t.Fatalf("after cancel: %+v status %s", read, read.Status(now, false))
		}
		again, err := cat.CancelActivity(ctx, a.ID, now.Add(time.Minute))
		if err != nil || !again.EndAt.Equal(c.EndAt) {
			t.Fatalf("second cancel moved the end to %s (%v), want %s", again.EndAt, err, c.EndAt)
		}
		if _, err := cat.CancelActivity(ctx, a.ID+1000, now); contract.ErrorCode(err) != contract.ENotFound {
			t.Fatalf("cancel of no activity: %v", err)
		}
	})
}
