package main

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/flashsale/flashsale/internal/saletest"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestMetricsCountTheSale runs a small sale with one buy of every kind,
// one at a time, then scrapes /metrics of the flashsale service and of the
// order service and finds the counts equal to what the sale did.
func TestMetricsCountTheSale(t *testing.T) {
	s := newSale(t, t.TempDir())
	s.start()
	act := s.NewActivity(5)
	later := s.NewActivityAt(5, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))

	// want counts the buys by outcome: accepted, or the error's code.
	want := map[string]int{}
	const accepted = "accepted"
	buy := func(act int64, user string, wantCode api.ErrorCode) {
		t.Helper()
		code, e := s.Buy(act, user)
		if e == "" {
			e = accepted
		}
		if e != wantCode {
			t.Fatalf("buy by %s: %d %s, want %s", user, code, e, wantCode)
		}
		want[string(e)]++
	}
	buy(later, "u1", api.ErrorCodeNotStarted)
	buy(act, "u1", accepted)
	buy(act, "u1", api.ErrorCodeAlreadyPurchased)
	forged := saletest.Got(s.Shopper.BuyWithResponse(t.Context(), act, nil, api.BuyRequest{Secret: "forged"}, s.As("u2")))
	if forged.StatusCode() != http.StatusForbidden || forged.JSON403.Error != api.ErrorCodeBadSecret {
		t.Fatalf("forged secret: %s", saletest.Show(forged))
	}
	want[string(api.ErrorCodeBadSecret)]++
	for _, u := range []string{"u2", "u3", "u4", "u5"} {
		buy(act, u, accepted)
	}
	for _, u := range []string{"u6", "u7", "u8"} {
		buy(act, u, api.ErrorCodeSoldOut)
	}
	s.Settle(act, 30*time.Second)

	fs := scrape(t, s.Admin) // the admin listener: the shopper port has no /metrics
	total := 0
	for outcome, n := range want {
		total += n
		if got := value(fs, "flashsale_buys_total", "outcome", outcome); got != float64(n) {
			t.Errorf("flashsale_buys_total{outcome=%q} = %v, want %d", outcome, got, n)
		}
	}
	for _, c := range []struct {
		name, label, val string
		want             float64
	}{
		{"flashsale_gate_rejections_total", "reason", "secret", 1},
		{"flashsale_gate_rejections_total", "reason", "time", 1},
		{"flashsale_buy_seconds", "", "", float64(total)},
		{"flashsale_lua_seconds", "", "", 5},                 // the accepted; the sold-outs stopped at the stock read or the flag
		{"flashsale_dtm_call_seconds", "call", "prepare", 6}, // the accepted, and the repeated buy (dtm refused a finished gid)
		{"flashsale_dtm_call_seconds", "call", "submit", 5},  // the accepted
		{"flashsale_dtm_call_seconds", "call", "abort", 0},   // no Lua step failed
		{"flashsale_dtm_call_seconds", "call", "query", 0},   // nor failed oddly
	} {
		if got := value(fs, c.name, c.label, c.val); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.val, got, c.want)
		}
	}
	if got := value(fs, "flashsale_gate_rejections_total", "reason", "sold_out"); got > 3 {
		t.Errorf("sold-out flag rejections %v, more than the 3 sold-out buys", got)
	}
	checkHealth(t, s, act)

	ord := scrape(t, s.Client(apitest.Orders, "http://"+argOf(t, s, "-orders-addr"), nil))
	for _, c := range []struct {
		name, label, val string
		want             float64
	}{
		{"orders_created_total", "", "", 5},
		{"orders_create_seconds", "code", "200", 5},
		{"orders_settlement_lag_seconds", "", "", 5},
	} {
		if got := value(ord, c.name, c.label, c.val); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.val, got, c.want)
		}
	}
	if f := ord["orders_repairs_total"]; f == nil || len(f.Metric) != 1 {
		t.Errorf("orders_repairs_total: %v, want its kind at 0", f)
	}
	if lag := sum(ord, "orders_settlement_lag_seconds"); lag <= 0 || lag > 5*5 {
		t.Errorf("settlement lag sum %v s for 5 orders settled at once", lag)
	}

	// The sale view's tally of the activity says the same.
	live := saletest.Got(s.Admin.GetLiveWithResponse(t.Context(), act))
	if live.StatusCode() != http.StatusOK {
		t.Fatalf("live: %s", saletest.Show(live))
	}
	outcomes := live.JSON200.Instance.Outcomes
	for outcome, n := range want {
		if outcome == string(api.ErrorCodeNotStarted) {
			continue // another activity's
		}
		if outcomes[outcome] != int64(n) {
			t.Errorf("live outcomes[%s] = %d, want %d", outcome, outcomes[outcome], n)
		}
	}
}

// checkHealth checks what the alerting rules read besides the buys, once
// the sale settled: both stores ready, dtm's group without an old
// unfinished message, every kind of repair counted from 0, and
// reconciliation's last result of act, 0 violations.
func checkHealth(t *testing.T, s *sale, act int64) {
	t.Helper()
	r := saletest.Got(s.Admin.GetReconcileWithResponse(t.Context(), &api.GetReconcileParams{Activity: act}))
	if r.StatusCode() != http.StatusOK {
		t.Fatalf("reconcile: %s", saletest.Show(r))
	}
	fs := scrape(t, s.Admin)
	for _, store := range []string{"redis", "mysql"} {
		if got := value(fs, "flashsale_store_ready", "store", store); got != 1 {
			t.Errorf("flashsale_store_ready{store=%q} = %v, want 1", store, got)
		}
	}
	if f := fs["flashsale_dtm_oldest_unfinished_seconds"]; f == nil || len(f.Metric) != 1 || f.Metric[0].Gauge.GetValue() > 60 {
		t.Errorf("flashsale_dtm_oldest_unfinished_seconds: %v, want one group, no message unfinished for a minute", f)
	}
	if f := fs["flashsale_repairs_total"]; f == nil || len(f.Metric) != 5 {
		t.Errorf("flashsale_repairs_total: %v, want its 5 kinds at 0", f)
	}
	if got, ok := fs["flashsale_reconcile_violations"]; !ok || value(fs, "flashsale_reconcile_violations", "activity", strconv.FormatInt(act, 10)) != 0 {
		t.Errorf("flashsale_reconcile_violations: %v, want activity %d at 0", got, act)
	}
}

// scrape reads the metrics of c's listener, in the Prometheus text
// format.
func scrape(t *testing.T, c *api.ClientWithResponses) map[string]*dto.MetricFamily {
	t.Helper()
	r, err := c.MetricsWithResponse(t.Context())
	if err := api.Expect("metrics", r, err, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return fams
}

// value returns a counter's value or a histogram's count, of the series
// whose label has val (any series when label is ""); 0 when absent.
func value(fams map[string]*dto.MetricFamily, name, label, val string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		if label != "" && !hasLabel(m, label, val) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// sum returns a histogram's sum.
func sum(fams map[string]*dto.MetricFamily, name string) float64 {
	if f := fams[name]; f != nil && len(f.Metric) > 0 && f.Metric[0].Histogram != nil {
		return f.Metric[0].Histogram.GetSampleSum()
	}
	return 0
}

func hasLabel(m *dto.Metric, name, val string) bool {
	for _, l := range m.Label {
		if l.GetName() == name && l.GetValue() == val {
			return true
		}
	}
	return false
}

// argOf returns the value of flag in the sale's command line.
func argOf(t *testing.T, s *sale, flag string) string {
	t.Helper()
	for i, a := range s.proc.Args {
		if a == flag && i+1 < len(s.proc.Args) {
			return s.proc.Args[i+1]
		}
	}
	t.Fatalf("no %s in %v", flag, s.proc.Args)
	return ""
}
