package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/flashsale/flashsale/flashsale"
)

// resetCronTime asks the dtm server to retry at once every transaction
// whose next try is later (its admin API), as an operator does after an
// outage: failed branch calls back off 18 s, 36 s, ... It returns how many
// transactions it hurried.
func (s *stack) resetCronTime(ctx context.Context) (int, error) {
	total := 0
	for range 100 {
		var body struct {
			HasRemaining bool `json:"has_remaining"`
			SucceedCount int  `json:"succeed_count"`
		}
		if err := s.getJSON(ctx, s.dtmURL()+"/resetCronTime?timeout=0&limit=100000", &body); err != nil {
			return total, err
		}
		total += body.SucceedCount
		if !body.HasRemaining {
			break
		}
	}
	return total, nil
}

// pending returns the gids of the run's purchase messages that are not
// final (prepared or submitted), from one listing of the dtm server.
func (s *stack) pending(ctx context.Context, acts map[int64]bool) ([]string, error) {
	var out []string
	for _, status := range []string{"prepared", "submitted"} {
		var body struct {
			Transactions []struct {
				Gid string `json:"gid"`
			} `json:"transactions"`
		}
		// dtm's Redis store drops the rest of a SCAN batch once a page
		// is full, so one page far larger than the run lists everything;
		// the status filter keeps the answer small.
		q := url.Values{"limit": {"10000000"}, "status": {status}}
		if err := s.getJSON(ctx, s.dtmURL()+"/all?"+q.Encode(), &body); err != nil {
			return nil, err
		}
		for _, t := range body.Transactions {
			if act, _, err := flashsale.ParseGID(t.Gid); err == nil && acts[act] {
				out = append(out, t.Gid+" ("+status+")")
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// settle waits until no purchase message of the run's sales is left
// prepared or submitted, hurrying backed-off ones with resetCronTime every
// 10 s, for at most bound after healed (the last fault's healing). It
// returns the time settlement took from healed, or the stuck gids.
func (s *stack) settle(ctx context.Context, acts map[int64]bool, healed time.Time, bound time.Duration, progress io.Writer) (time.Duration, []string, error) {
	var lastReset time.Time
	var stuck []string
	for {
		if time.Since(lastReset) >= 10*time.Second {
			n, err := s.resetCronTime(ctx)
			if err != nil {
				fmt.Fprintf(progress, "chaos: resetCronTime: %v\n", err)
			} else if n > 0 {
				fmt.Fprintf(progress, "chaos: resetCronTime hurried %d transactions\n", n)
			}
			lastReset = time.Now()
		}
		p, err := s.pending(ctx, acts)
		if err == nil {
			if len(p) == 0 {
				return time.Since(healed), nil, nil
			}
			stuck = p
		}
		if time.Since(healed) > bound {
			if err != nil {
				return 0, stuck, fmt.Errorf("dtm server: %w", err)
			}
			return 0, stuck, nil
		}
		if !pause(ctx, 500*time.Millisecond) {
			return 0, stuck, ctx.Err()
		}
	}
}

func (s *stack) getJSON(ctx context.Context, u string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
