package dtmclient

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/httpjson"
)

// HurryWhenReady is what a service dtm calls runs beside its listeners
// until ctx ends: every second it asks readyURL (the service's own
// /readyz, answered 200 when its stores answer), and each time that turns
// ready, at the start and after every outage of its stores, it hurries
// dtm's retries (HurryRetries). dtm backs off the calls that failed while
// the service or its stores were down, 18 s, then 36 s, ... with no limit:
// without the hurry the orders of a ten-minute database outage could wait
// about ten minutes more once it is over.
func HurryWhenReady(ctx context.Context, server, readyURL string, log *slog.Logger) {
	hc := &http.Client{Timeout: RequestTimeout * time.Second}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	ready := false
	for {
		now := answers200(ctx, hc, readyURL)
		if now && !ready {
			HurryRetries(ctx, server, log)
		}
		ready = now
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// HurryRetries asks the API of every dtm group in servers (a
// comma-separated list, Groups) to retry now every transaction due more
// than HurryAfter from now (resetCronTime): the calls that failed and are
// backed off. It logs what it did to log and returns how many
// transactions it moved.
func HurryRetries(ctx context.Context, servers string, log *slog.Logger) int {
	total := 0
	for _, server := range ParseGroups(servers) {
		n, err := Hurry(ctx, nil, server, HurryAfter*time.Second)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("could not hurry dtm's backed-off retries; they run on their own schedule", "dtm", server, "err", err)
		case n > 0:
			log.Info("hurried dtm's backed-off retries", "dtm", server, "transactions", n)
		}
		total += n
	}
	return total
}

// Hurry asks the dtm group at server (its API base) to retry now every
// transaction due more than after from now (dtm's resetCronTime) and
// returns how many transactions it moved. after 0 hurries every
// transaction not final, the back-checks of prepared messages included:
// what an operator does once an outage is over. hc may be nil.
func Hurry(ctx context.Context, hc *http.Client, server string, after time.Duration) (int, error) {
	if hc == nil {
		hc = &http.Client{Timeout: RequestTimeout * time.Second}
	}
	q := url.Values{"timeout": {strconv.Itoa(int(after / time.Second))}, "limit": {"10000"}}
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

// answers200 reports whether u answers 200.
func answers200(ctx context.Context, hc *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
