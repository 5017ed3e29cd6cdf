package sqldb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlconn"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/flashsale/flashsale/orders"
	"gorm.io/gorm"
)

// deliver runs the branches of users in act concurrently, each delivered
// copies times at once, and returns the errors.
func deliver(t *testing.T, s *Store, act int64, users []string, copies int) []error {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, u := range users {
		for i := 0; i < copies; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := contract.OrderRequest{ActivityID: act, UserID: u, ProductID: 7, Price: 100}
				err := s.Create(context.Background(), branch(t, fmt.Sprintf("flash-sale-%d-%s", act, u)), req)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return errs
}

func users(prefix string, n int) []string {
	var us []string
	for i := 0; i < n; i++ {
		us = append(us, fmt.Sprintf("%s%d", prefix, i))
	}
	return us
}

// TestCreateGrouped: 300 branches of two activities arriving at once are
// committed in groups (some group holds more than one), and every one of
// them made its order and took its unit once.
func TestCreateGrouped(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 10, 200)
		seedStock(t, db, 11, 100)
		var wg sync.WaitGroup
		for _, a := range []struct {
			act int64
			n   int
		}{{10, 200}, {11, 100}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, err := range deliver(t, s, a.act, users("g", a.n), 1) {
					if err != nil {
						t.Errorf("activity %d: %v", a.act, err)
					}
				}
			}()
		}
		wg.Wait()
		if g := s.groups.grouped.Load(); g == 0 {
			t.Fatal("300 branches at once, none committed in a group")
		} else {
			t.Logf("%d of 300 branches committed in groups", g)
		}
		wantDB(t, db, 10, 200, 0)
		wantDB(t, db, 11, 100, 0)
		if n := count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid LIKE 'flash-sale-1%' AND op = 'action' AND barrier_id = '01'"); n != 300 {
			t.Errorf("%d barrier rows, want 300", n)
		}
	})
}

// TestCreateGroupedTrickle: branches that arrive one by one, none while
// another commits, still share one commit when they come within the
// linger of the first: five branches 20 ms apart, a 300 ms linger.
func TestCreateGroupedTrickle(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 12, 5)
		s.groups.linger = 300 * time.Millisecond
		var wg sync.WaitGroup
		for _, u := range users("t", 5) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := contract.OrderRequest{ActivityID: 12, UserID: u, ProductID: 7, Price: 100}
				if err := s.Create(context.Background(), branch(t, "flash-sale-12-"+u), req); err != nil {
					t.Error(err)
				}
			}()
			time.Sleep(20 * time.Millisecond)
		}
		wg.Wait()
		if g := s.groups.grouped.Load(); g != 5 {
			t.Fatalf("%d of 5 branches committed in a group of two or more, want all 5 in one", g)
		}
		wantDB(t, db, 12, 5, 0)
	})
}

// TestCreateGroupedRedeliveries: 60 branches each delivered three times at
// once, and again afterwards: a group meeting a redelivery falls back to
// one transaction per branch, and every branch made one order.
func TestCreateGroupedRedeliveries(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 12, 100)
		us := users("r", 60)
		for _, err := range deliver(t, s, 12, us, 3) {
			// A copy that lost a race on the unique barrier row may
			// fail; dtm retries it and the retry finds the row.
			if err != nil {
				t.Logf("a concurrent delivery failed (dtm retries it): %v", err)
			}
		}
		for _, err := range deliver(t, s, 12, us, 1) {
			if err != nil {
				t.Fatalf("a late redelivery: %v", err)
			}
		}
		wantDB(t, db, 12, 60, 40)
	})
}

// TestCreateGroupedShortStock: 25 branches at once for 10 units of DB
// stock: a group that cannot take its units falls back branch by branch,
// so exactly 10 orders are made and the other 15 branches get
// ErrNoDBStock with nothing committed, not even their barrier rows.
func TestCreateGroupedShortStock(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 13, 10)
		ok, short := 0, 0
		for _, err := range deliver(t, s, 13, users("s", 25), 1) {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, orders.ErrNoDBStock):
				short++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}
		if ok != 10 || short != 15 {
			t.Fatalf("%d created, %d short of stock; want 10 and 15", ok, short)
		}
		wantDB(t, db, 13, 10, 0)
		if n := count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid LIKE 'flash-sale-13-%'"); n != 10 {
			t.Errorf("%d barrier rows, want 10", n)
		}
	})
}

// BenchmarkCreate compares the purchase branch committed alone (one
// transaction per order) with the grouped commit, 32 branches in flight
// on one activity as in a burst, on MariaDB:
//
//	go test -run XXX -bench Create -benchtime 5s ./orders/sqldb
func BenchmarkCreate(b *testing.B) {
	for _, mode := range []string{"Alone", "Grouped"} {
		b.Run(mode, func(b *testing.B) {
			db, err := sqlconn.OpenMySQL(context.Background(), testenv.MySQLDSN(b), 32)
			if err != nil {
				b.Fatal(err)
			}
			s := New(db)
			seedStock(b, db, 1, 100_000_000)
			var next atomic.Int64
			b.SetParallelism(16) // 32 goroutines on two cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u := fmt.Sprintf("b%d", next.Add(1))
					req := contract.OrderRequest{ActivityID: 1, UserID: u, ProductID: 7, Price: 100}
					bb := branch(b, "flash-sale-1-"+u)
					var err error
					if mode == "Alone" {
						err = s.createOne(context.Background(), bb, req)
					} else {
						err = s.Create(context.Background(), bb, req)
					}
					if err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}

// TestCreateCallerGone: a branch whose caller has given up before its
// group runs is skipped, nothing of it committed, and its retry creates
// the order.
func TestCreateCallerGone(t *testing.T) {
	stores(t, func(t *testing.T, s *Store, db *gorm.DB) {
		seedStock(t, db, 14, 5)
		req := contract.OrderRequest{ActivityID: 14, UserID: "gone", ProductID: 7, Price: 100}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Create(ctx, branch(t, "flash-sale-14-gone"), req); !errors.Is(err, context.Canceled) {
			t.Fatalf("Create with its caller gone = %v, want context.Canceled", err)
		}
		// Create returns as soon as its caller is gone; what the worker
		// does with the branch is known once it has finished.
		waitIdle(t, s.groups)
		if n := count(t, db, "SELECT COUNT(*) FROM orders WHERE activity_id = 14") + count(t, db, "SELECT COUNT(*) FROM barrier WHERE gid = 'flash-sale-14-gone'"); n != 0 {
			t.Fatalf("%d rows committed for a branch whose caller was gone", n)
		}
		if err := s.Create(context.Background(), branch(t, "flash-sale-14-gone"), req); err != nil {
			t.Fatalf("retry: %v", err)
		}
		wantDB(t, db, 14, 1, 4)
	})
}

// waitIdle waits until g has no branch queued and no worker running.
func waitIdle(t *testing.T, g *grouper) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		idle := g.workers == 0 && len(g.queue) == 0
		g.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the grouper still busy after 5s")
		}
	}
}
