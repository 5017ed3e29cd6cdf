package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/saletest"
	"github.com/flashsale/flashsale/scripts/monitoring"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// dashboardRare are the label matchers of the dashboard whose series the
// small sale of the live check does not make, and when they appear; the
// check drops them (it still checks the metric and its other labels).
var dashboardRare = map[string]string{
	`dtm_branch_process_total{status="fail"}`: "a message branch that failed and will be retried: none in a healthy sale",
	`dtm_server_process_total{api="abort"}`:   "a purchase whose Lua step found no unit aborts its message: the buys after the last unit, until the sold-out gate turns them away first",
}

// TestDashboardMetricsExported runs a small sale on the services mode (one
// buy accepted, one refused by a gate, its order settled), scrapes the
// three endpoints Prometheus scrapes in the monitoring profile (flashsale's
// admin listener, the order service, dtm's /api/metrics), and finds every
// metric a panel of the Grafana dashboard reads among what they export.
func TestDashboardMetricsExported(t *testing.T) {
	queries, err := monitoring.Queries(filepath.Join("..", "scripts", "monitoring", "grafana", "flashsale.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	act := s.NewActivity(5)
	if code, e := s.Buy(act, "u1"); e != "" {
		t.Fatalf("buy: %d %s", code, e)
	}
	forged := saletest.Got(s.Shopper.BuyWithResponse(t.Context(), act, nil, api.BuyRequest{Secret: "forged"}, s.As("u2")))
	if forged.StatusCode() != http.StatusForbidden {
		t.Fatalf("forged secret: %s", saletest.Show(forged))
	}
	s.Settle(act, 30*time.Second)
	time.Sleep(200 * time.Millisecond) // a few rounds of the sold-out poll, which feeds the stock gauge

	var exported []series
	for _, url := range []string{s.adminURL() + "/metrics", s.ordersURL() + "/metrics", fmt.Sprintf("http://127.0.0.1:%d/api/metrics", s.dtmPort)} {
		exported = append(exported, scrapeSeries(t, s.http, url)...)
	}
	for _, q := range queries {
		sels, err := q.Selectors()
		if err != nil {
			t.Errorf("panel %q: %v", q.Panel, err)
			continue
		}
		for _, sel := range sels {
			sel.Matchers = slices.DeleteFunc(slices.Clone(sel.Matchers), func(m monitoring.Matcher) bool {
				return dashboardRare[sel.Metric+"{"+m.Label+m.Op+`"`+m.Value+`"}`] != ""
			})
			if !slices.ContainsFunc(exported, func(e series) bool { return e.name == sel.Metric && sel.Matches(e.labels) }) {
				t.Errorf("panel %q reads %s%v, which no service exports after a sale", q.Panel, sel.Metric, sel.Matchers)
			}
		}
	}
}

// series is one exported series: its name and labels.
type series struct {
	name   string
	labels map[string]string
}

// scrapeSeries scrapes url and returns the series it exports, a
// histogram's as its _bucket, _sum and _count.
func scrapeSeries(t *testing.T, hc *http.Client, url string) []series {
	t.Helper()
	r, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, r.StatusCode, err)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	var out []series
	for name, f := range fams {
		names := []string{name}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names = []string{name + "_bucket", name + "_sum", name + "_count"}
		case dto.MetricType_SUMMARY:
			names = append(names, name+"_sum", name+"_count")
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for _, n := range names {
				out = append(out, series{n, labels})
			}
		}
	}
	return out
}
