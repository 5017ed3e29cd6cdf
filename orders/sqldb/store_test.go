package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// stores runs f against every implementation: MySQL (dtmcli's barrier) and
// SQLite (this package's barrier).
func stores(t *testing.T, f func(t *testing.T, s *Store, db *gorm.DB)) {
	t.Run("MySQL", func(t *testing.T) {
		db, err := sqlconn.OpenMySQL(context.Background(), testenv.MySQLDSN(t), 32)
		if err != nil {
			t.Fatal(err)
		}
		f(t, New(db), db)
	})
	t.Run("SQLite", func(t *testing.T) {
		db, err := sqlconn.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
		if err != nil {
			t.Fatal(err)
		}
		f(t, New(db), db)
	})
}

func branch(t testing.TB, gid string) *dtmcli.BranchBarrier {
	t.Helper()
	bb, err := dtmcli.BarrierFrom("msg", gid, "01", "action")
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

func seedStock(t testing.TB, db *gorm.DB, act int64, units int) {
	t.Helper()
	if err := db.Exec("INSERT INTO activity_stock (activity_id, total, stock) VALUES (?, ?, ?)", act, units, units).Error; err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *gorm.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// wantDB checks act's orders and DB stock.
func wantDB(t *testing.T, db *gorm.DB, act int64, made, stock int) {
	t.Helper()
	if n := count(t, db, "SELECT COUNT(*) FROM orders WHERE activity_id = ?", act); n != made {
		t.Errorf("activity %d: %d orders, want %d", act, n, made)
	}
	if n := count(t, db, "SELECT stock FROM activity_stock WHERE activity_id = ?", act); n != stock {
		t.Errorf("activity %d: DB stock %d, want %d", act, n, stock)
	}
}

func TestCreateExactlyOnce(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		seedStock(t, db, 1, 5)
		req := contract.OrderRequest{ActivityID: 1, UserID: "u1", ProductID: 7, Price: 100}
		for i := 0; i < 3; i++ { // the first delivery and two redeliveries
			if err := s.Create(ctx, branch(t, "flash-sale-1-u1"), req); err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
		}
		if n := count(t, db, "SELECT COUNT(*) FROM orders WHERE gid = ?", "flash-sale-1-u1"); n != 1 {
			t.Fatalf("%d orders after 3 deliveries, want 1", n)
		}
		if n := count(t, db, "SELECT stock FROM activity_stock WHERE activity_id = 1"); n != 4 {
			t.Fatalf("DB stock %d, want 4", n)
		}
	})
}

// TestCreateConcurrentRedeliveries: 20 concurrent deliveries of one branch
// create one order; only one wins.
func TestCreateConcurrentRedeliveries(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 2, 5)
		req := contract.OrderRequest{ActivityID: 2, UserID: "u2", ProductID: 7, Price: 100}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Create(context.Background(), branch(t, "flash-sale-2-u2"), req)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			// A delivery that lost a race on the unique barrier row may
			// fail; dtm retries it and the retry finds the row.
			if err != nil {
				t.Logf("a concurrent delivery failed (dtm retries it): %v", err)
			}
		}
		if err := s.Create(context.Background(), branch(t, "flash-sale-2-u2"), req); err != nil {
			t.Fatalf("a late redelivery: %v", err)
		}
		wantDB(t, db, 2, 1, 4)
	})
}

// TestCreateWithoutDBStock: when the DB stock cannot cover the unit, nothing
// is committed, not even the barrier row, so that a retry can still succeed.
func TestCreateWithoutDBStock(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 3, 0)
		req := contract.OrderRequest{ActivityID: 3, UserID: "u3", ProductID: 7, Price: 100}
		err := s.Create(context.Background(), branch(t, "flash-sale-3-u3"), req)
		if !errors.Is(err, orders.ErrNoDBStock) {
			t.Fatalf("Create = %v, want ErrNoDBStock", err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM orders WHERE activity_id = 3") + count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid = ?", "flash-sale-3-u3"); n != 0 {
			t.Fatalf("%d rows committed by a failed branch", n)
		}
		if err := db.Exec("UPDATE activity_stock SET total = 1, stock = 1 WHERE activity_id = 3").Error; err != nil {
			t.Fatal(err)
		}
		if err := s.Create(context.Background(), branch(t, "flash-sale-3-u3"), req); err != nil {
			t.Fatalf("retry: %v", err)
		}
	})
}

// TestBarrierOps checks the barrier's rules on both stores, op by op: a
// repeated action runs once; a compensation runs only after its action; a
// compensation that comes first (a null compensation) blocks the action.
func TestBarrierOps(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		run := func(gid, op string) bool {
			t.Helper()
			bb, err := dtmcli.BarrierFrom("saga", gid, "01", op)
			if err != nil {
				t.Fatal(err)
			}
			ran := false
			if err := s.withBarrier(context.Background(), bb, func(*gorm.DB) error { ran = true; return nil }); err != nil {
				t.Fatalf("%s %s: %v", gid, op, err)
			}
			return ran
		}
		steps := []struct {
			gid, op string
			ran     bool
		}{
			{"g-a", "action", true}, {"g-a", "action", false},
			{"g-a", "compensate", true}, {"g-a", "compensate", false},
			{"g-null", "compensate", false}, {"g-null", "action", false},
		}
		for i, st := range steps {
			if got := run(st.gid, st.op); got != st.ran {
				t.Fatalf("step %d (%s %s): ran = %v, want %v", i+1, st.gid, st.op, got, st.ran)
			}
		}
	})
}

func TestMsgDoOpDuplicate(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		for i, want := range []error{nil, dtmcli.ErrDuplicated} {
			bb, _ := dtmcli.BarrierFrom("msg", "g-msg", "00", "msg")
			err := s.withBarrier(context.Background(), bb, func(*gorm.DB) error { return nil })
			if !errors.Is(err, want) && !(want == nil && err == nil) {
				t.Fatalf("call %d: %v, want %v", i+1, err, want)
			}
		}
	})
}
