package sqldb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/sqlbarrier"
	"github.com/flashsale/flashsale/orders"
)

// Order creations are committed in groups: the branches that arrive while
// a group's transaction runs wait and go into the next one, which inserts
// all their barrier rows in one statement, all their orders in another and
// takes each activity's units with one UPDATE. A burst's orders then share
// one commit and one hold of the activity's stock row lock, the sale's one
// hot row, instead of queuing on it one commit at a time.
//
// A group is all or nothing, like the one-order transaction it stands for.
// When it cannot commit as a whole (a barrier row already there, so a
// redelivered branch; a DB stock short; any error), it is rolled back and
// every branch in it runs alone through the barrier (sqlbarrier.Run), which
// gives each its own answer.
//
// A group waits until its oldest branch has waited groupLinger (or the
// group is full): at a few hundred orders a second, branches rarely arrive
// while a commit runs, and groups of one or two paid MariaDB's cost of a
// commit for each order. The wait is on the order's side only: the
// shopper's answer came at Submit, before dtm called the branch.
const (
	groupMax     = 128                  // branches in one group at most
	groupWorkers = 2                    // groups in flight at once: one commits, one fills
	groupLinger  = 5 * time.Millisecond // how long a group waits to fill
)

// grouper runs the order creations of one Store in groups.
type grouper struct {
	s      *Store
	linger time.Duration // groupLinger but in tests

	mu      sync.Mutex // mu guards queue and workers
	queue   []*creation
	workers int

	grouped atomic.Int64 // branches committed in groups of two or more
}

// creation is one branch waiting for its group.
type creation struct {
	ctx  context.Context // the caller's: once it is done, the branch is skipped
	at   time.Time       // when it was queued
	bb   *dtmcli.BranchBarrier
	req  contract.OrderRequest
	done chan error // buffered: the worker never blocks on a caller gone
}

// create queues one branch and waits for its group's outcome, or for ctx.
// A branch whose caller gave up may still commit; dtm's retry then finds
// its barrier row and succeeds.
func (g *grouper) create(ctx context.Context, bb *dtmcli.BranchBarrier, req contract.OrderRequest) error {
	c := &creation{ctx: ctx, at: time.Now(), bb: bb, req: req, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.workers < groupWorkers {
		g.workers++
		go g.work()
	}
	g.mu.Unlock()
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// work commits groups until the queue is empty, then exits.
func (g *grouper) work() {
	for {
		g.mu.Lock()
		g.fill()
		n := min(len(g.queue), groupMax)
		if n == 0 {
			g.workers--
			g.mu.Unlock()
			return
		}
		taken := g.queue[:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil // let the drained backing array go
		}
		g.mu.Unlock()
		// A branch whose caller gave up (dtm's call timed out, or the
		// order service is shutting down) is left to dtm's retry: nothing
		// of it is committed.
		var group []*creation
		for _, c := range taken {
			if err := c.ctx.Err(); err != nil {
				c.done <- err
				continue
			}
			group = append(group, c)
		}
		if len(group) > 0 {
			g.commit(group)
		}
	}
}

// fill waits, g.mu held on entry and on return, until the queue's
// oldest branch has waited g.linger or the queue holds a full group.
func (g *grouper) fill() {
	for len(g.queue) > 0 && len(g.queue) < groupMax {
		wait := time.Until(g.queue[0].at.Add(g.linger))
		if wait <= 0 {
			return
		}
		g.mu.Unlock()
		time.Sleep(wait)
		g.mu.Lock()
	}
}

// commit runs one group: as one transaction if it can, else branch by
// branch. A group of one goes the same way: its transaction is the
// cheapest, and a redelivered branch (its barrier row already there) falls
// back to createOne, which answers it.
func (g *grouper) commit(group []*creation) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.s.createGroup(ctx, group); err == nil {
		if len(group) > 1 {
			g.grouped.Add(int64(len(group)))
		}
		for _, c := range group {
			c.done <- nil
		}
		return
	}
	if len(group) == 1 { // no goroutine needed
		group[0].done <- g.s.createOne(ctx, group[0].bb, group[0].req)
		return
	}
	var wg sync.WaitGroup
	for _, c := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.done <- g.s.createOne(ctx, c.bb, c.req)
		}()
	}
	wg.Wait()
}

// errGroupSplit rolls a group back when one of its barrier rows was
// already there: its branches then run alone.
var errGroupSplit = errors.New("a branch of the group ran before")

// createGroup is the group's transaction, on database/sql (a group is
// five statements whatever its size; built through gorm, its reflection
// over every row cost more than the statements): every barrier row (the
// same row dtmcli's BranchBarrier.Call inserts for a message branch),
// every order, and one stock decrement per activity, taken in activity
// order so that two groups never wait on each other's rows crosswise.
func (s *Store) createGroup(ctx context.Context, group []*creation) (err error) {
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	q := sqlbarrier.InsertRows(s.dialect, len(group))
	args := make([]any, 0, 9*len(group))
	for _, c := range group {
		bid := fmt.Sprintf("%02d", c.bb.BarrierID+1) // the first barrier of the branch, as Call numbers it
		args = append(args, c.bb.TransType, c.bb.Gid, c.bb.BranchID, c.bb.Op, bid, c.bb.Op)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("insert barriers: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(group)) {
		return errGroupSplit
	}
	now := time.Now().UTC()
	args = args[:0]
	units := map[int64]int{}
	for _, c := range group {
		o := orderRowFor(c.bb.Gid, c.req, now)
		args = append(args, o.GID, o.ActivityID, o.UserID, o.ProductID, o.Price, o.Status, o.CreatedAt, o.UpdatedAt, o.ExpiresAt)
		units[c.req.ActivityID]++
	}
	q = "INSERT INTO orders (gid, activity_id, user_id, product_id, price, status, created_at, updated_at, expires_at) VALUES " + placeholders(len(group), 9)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("insert orders: %w", err)
	}
	acts := make([]int64, 0, len(units))
	for a := range units {
		acts = append(acts, a)
	}
	slices.Sort(acts)
	for _, a := range acts {
		taken, err := contract.TakeStock(ctx, tx, a, units[a])
		if err != nil {
			return fmt.Errorf("decrement DB stock: %w", err)
		}
		if !taken {
			return fmt.Errorf("activity %d: %w", a, orders.ErrNoDBStock)
		}
	}
	return tx.Commit()
}

// placeholders returns rows groups of n "?" each: "(?, ?), (?, ?)".
func placeholders(rows, n int) string {
	one := "(" + strings.Repeat("?, ", n-1) + "?)"
	return strings.Repeat(one+", ", rows-1) + one
}

// groupable reports whether bb is a message branch's first barrier, the
// one kind of call a group inserts barrier rows for.
func groupable(bb *dtmcli.BranchBarrier) bool {
	return bb.TransType == "msg" && bb.Op == dtmimp.OpAction && bb.BarrierID == 0
}
