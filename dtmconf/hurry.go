package dtmconf

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/httpjson"
)

// HurryRetries is what a service dtm calls does when it starts: it waits
// up to 30 s for the service to answer 200 at readyURL (its own listener,
// where dtm reaches it), then asks the dtm server's API at server to retry
// now every transaction due more than HurryAfter from now (resetCronTime).
// Those are the calls that failed while the service was down: dtm backs
// them off 18 s, then 36 s, ..., and without the hurry they would wait that
// long after the service is back. It logs what it did to log and returns
// how many transactions it moved.
func HurryRetries(ctx context.Context, server, readyURL string, log *slog.Logger) int {
	n, err := hurry(ctx, server, readyURL)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("could not hurry dtm's backed-off retries; they run on their own schedule", "err", err)
	case n > 0:
		log.Info("hurried dtm's backed-off retries", "transactions", n)
	}
	return n
}

func hurry(ctx context.Context, server, readyURL string) (int, error) {
	hc := &http.Client{Timeout: RequestTimeout * time.Second}
	if err := waitReady(ctx, hc, readyURL); err != nil {
		return 0, err
	}
	q := url.Values{"timeout": {strconv.Itoa(HurryAfter)}, "limit": {"10000"}}
	hurried := 0
	for range 100 { // a million transactions at most
		var body struct {
			HasRemaining bool `json:"has_remaining"`
			SucceedCount int  `json:"succeed_count"`
		}
		if err := httpjson.Get(ctx, hc, server+"/resetCronTime?"+q.Encode(), &body); err != nil {
			return hurried, err
		}
		hurried += body.SucceedCount
		if !body.HasRemaining {
			break
		}
	}
	return hurried, nil
}

// waitReady waits up to 30 s for u to answer 200.
func waitReady(ctx context.Context, hc *http.Client, u string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("%s did not answer 200 within 30s", u)
}
