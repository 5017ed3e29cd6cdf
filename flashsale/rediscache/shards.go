package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/redis/go-redis/v9"
)

// An activity's units may be split over several shards, each in a slot of
// its own (contract.Shards), so that one hot sale spreads over several
// Redis masters. A message has one home shard, a hash of its gid, where its
// local step starts. A shard short of units does not end the purchase
// while another holds some: the local step walks on.
//
// The walk keeps dtm's barrier semantics across slots without a
// cross-slot transaction. In each shard one atomic call either takes the
// unit (barrier "op"), or finds the shard short and links the barrier to
// the next shard to try ("next:<k>"). A message's barriers therefore form a
// chain from its home shard: links, then at most one end that is absent,
// "op" or "rollback". Every attempt of the message, and its back-check,
// follow the same chain, so:
//
//   - a unit is taken at most once per message: only a chain's end can
//     take, and a link is written only where nothing was taken;
//   - a repeat attempt meets the first one's barrier wherever it ended;
//   - the back-check closes the chain's end with "rollback" when it is
//     absent, so no late attempt can take a unit anywhere after it.
//
// The next shard is the first of home+1, home+2, ... (cyclic) not on the
// chain yet, so a chain visits every shard at most once and a purchase is
// told sold out only after every shard was found short, each at the moment
// the walk reached it.

// walk runs the local step of the message whose barrier is named barrier:
// n units from the first shard of its chain holding them.
func (s *Stock) walk(ctx context.Context, activityID int64, barrier string, n int, purchase bool) error {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return err
	}
	home := l.Home(contract.BarrierGID(barrier))
	sharded := "0"
	if l.N > 1 {
		sharded = "1"
	}
	var seen uint64
	for at := home; ; {
		seen |= 1 << at
		next := ""
		for i := 1; i < l.N; i++ {
			if k := (home + i) % l.N; seen&(1<<k) == 0 {
				next = strconv.Itoa(k)
				break
			}
		}
		keys := []string{contract.BarrierKey(activityID, at, barrier), contract.StockKey(activityID, at), contract.EpochKey(activityID, at)}
		if purchase {
			keys = append(keys, contract.ClosedKey(activityID, at))
		}
		res, err := s.hot.run(ctx, takeScript, keys, -n, s.barrierTTL, next, sharded).Text()
		if err != nil {
			return fmt.Errorf("take script: %w", err)
		}
		if link, ok := strings.CutPrefix(res, "NEXT:"); ok {
			k, ok := contract.NextShard(contract.BarrierNext + link)
			if !ok || k >= l.N || seen&(1<<k) != 0 {
				return fmt.Errorf("barrier %s in shard %d links to shard %q", barrier, at, link)
			}
			at = k
			continue
		}
		switch res {
		case "OK":
			return nil
		case "FAILURE":
			return flashsale.ErrStockShort
		case "DUPLICATE":
			return flashsale.ErrDuplicate
		case "ROLLEDBACK":
			return flashsale.ErrRolledBack
		case "STALE":
			return flashsale.ErrStale
		case "CLOSED":
			return flashsale.ErrClosed
		}
		return fmt.Errorf("take script answered %q", res)
	}
}

// follow walks a message's chain of barriers from its home shard with
// step, run in each shard until it answers something else than a link.
func (s *Stock) follow(ctx context.Context, activityID int64, barrier string, step func(shard int) (string, error)) (string, error) {
	l, err := s.layout(ctx, activityID)
	if err != nil {
		return "", err
	}
	var seen uint64
	for at := l.Home(contract.BarrierGID(barrier)); ; {
		seen |= 1 << at
		v, err := step(at)
		if err != nil {
			return "", err
		}
		k, ok := contract.NextShard(v)
		if !ok {
			return v, nil
		}
		if k >= l.N || seen&(1<<k) != 0 {
			return "", fmt.Errorf("barrier %s in shard %d links to shard %d", barrier, at, k)
		}
		at = k
	}
}

// QueryPrepared runs the back-check of a message at the end of its chain.
func (s *Stock) QueryPrepared(ctx context.Context, activityID int64, barrier string) error {
	res, err := s.follow(ctx, activityID, barrier, func(at int) (string, error) {
		res, err := queryScript.Run(ctx, s.rdb, []string{contract.BarrierKey(activityID, at, barrier)}, s.barrierTTL).Text()
		if err != nil {
			return "", fmt.Errorf("query script: %w", err)
		}
		if k, ok := strings.CutPrefix(res, "NEXT:"); ok {
			return contract.BarrierNext + k, nil
		}
		return res, nil
	})
	switch {
	case err != nil:
		return err
	case res == "OK":
		return nil
	case res == "FAILURE":
		return flashsale.ErrRolledBack
	}
	return fmt.Errorf("query script answered %q", res)
}

// Barrier returns the state of a barrier at the end of its chain.
func (s *Stock) Barrier(ctx context.Context, activityID int64, barrier string) (string, error) {
	return s.follow(ctx, activityID, barrier, func(at int) (string, error) {
		v, err := s.rdb.Get(ctx, contract.BarrierKey(activityID, at, barrier)).Result()
		if errors.Is(err, redis.Nil) {
			return contract.BarrierAbsent, nil
		}
		return v, err
	})
}
