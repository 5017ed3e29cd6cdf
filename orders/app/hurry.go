package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/dtmconf"
)

// hurryBacklog asks the dtm server to retry now the transactions whose next
// try is far off, once this service answers at its URL. A purchase's branch
// that failed while the service was down (killed, restarting, unreachable)
// is retried by dtm after 18 s, then 36 s, ...: without the hurry a restart
// of the order service leaves the orders of that time pending that long.
//
// dtm's resetCronTime moves only the transactions due more than
// dtmconf.HurryAfter from now, so a message still prepared (due at its
// creation + MsgRetryInterval, when its back-check may run) keeps its
// schedule.
func (s *Service) hurryBacklog(ctx context.Context) {
	hc := &http.Client{Timeout: dtmconf.RequestTimeout * time.Second}
	if !s.waitReady(ctx, hc) {
		return
	}
	q := url.Values{"timeout": {strconv.Itoa(dtmconf.HurryAfter)}, "limit": {"10000"}}
	hurried := 0
	for range 100 { // a million transactions at most
		var body struct {
			HasRemaining bool `json:"has_remaining"`
			SucceedCount int  `json:"succeed_count"`
		}
		if err := getJSON(ctx, hc, s.cfg.DTMServer+"/resetCronTime?"+q.Encode(), &body); err != nil {
			s.log.Warn("could not hurry dtm's backed-off retries; they run on their own schedule", "err", err)
			return
		}
		hurried += body.SucceedCount
		if !body.HasRemaining {
			break
		}
	}
	if hurried > 0 {
		s.log.Info("hurried dtm's backed-off retries", "transactions", hurried)
	}
}

// waitReady waits up to 30 s for this service to answer /readyz at its
// URL, where dtm calls it.
func (s *Service) waitReady(ctx context.Context, hc *http.Client) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL+"/readyz", nil)
		if err != nil {
			return false
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	s.log.Warn("not answering at my URL after 30s; dtm's backed-off retries not hurried", "url", s.cfg.URL)
	return false
}

func getJSON(ctx context.Context, hc *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
