package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

	targets := scrapeTargets(s)
	var exported []series
	for _, tg := range targets {
		exported = append(exported, scrapeSeries(t, s.http, "http://"+tg.addr+tg.path)...)
	}
	for _, q := range queries {
		sels, err := q.Selectors()
		if err != nil {
			t.Errorf("panel %q: %v", q.Panel, err)
			continue
		}
		for _, sel := range sels {
			sel.Matchers = slices.DeleteFunc(slices.Clone(sel.Matchers), func(m monitoring.Matcher) bool {
				return dashboardRare[rareKey(sel.Metric, m)] != ""
			})
			if !slices.ContainsFunc(exported, func(e series) bool { return e.name == sel.Metric && sel.Matches(e.labels) }) {
				t.Errorf("panel %q reads %s%v, which no service exports after a sale", q.Panel, sel.Metric, sel.Matchers)
			}
		}
	}
	t.Run("Prometheus", func(t *testing.T) { dashboardOnPrometheus(t, s.http, targets, queries) })
}

// dashboardOnPrometheus has a real Prometheus scrape the targets, then
// runs every query of the dashboard as Grafana sends it: Prometheus must
// accept each, and each must return series, but for the queries that
// read only series a healthy sale does not make (dashboardRare).
func dashboardOnPrometheus(t *testing.T, hc *http.Client, targets []scrapeTarget, queries []monitoring.Query) {
	base := startPrometheus(t, hc, "the dashboard's queries run on a real Prometheus", targets)
	query := func(q string) (promResult, error) { return promQuery(hc, base, q) }
	// Two more scrapes after every target is up: a rate needs two samples.
	time.Sleep(2500 * time.Millisecond)
	for _, q := range queries {
		r, err := query(q.Expand())
		if err != nil {
			t.Errorf("panel %q: %q: %v", q.Panel, q.Expand(), err)
			continue
		}
		if len(r.Data.Result) == 0 && !dashboardOnlyRare(q) {
			t.Errorf("panel %q: %q returns no series after a sale", q.Panel, q.Expand())
		}
	}
}

// dashboardOnlyRare reports whether every selector of q has a matcher of
// dashboardRare.
func dashboardOnlyRare(q monitoring.Query) bool {
	sels, _ := q.Selectors()
	for _, sel := range sels {
		if !slices.ContainsFunc(sel.Matchers, func(m monitoring.Matcher) bool { return dashboardRare[rareKey(sel.Metric, m)] != "" }) {
			return false
		}
	}
	return true
}

func rareKey(metric string, m monitoring.Matcher) string {
	return metric + "{" + m.Label + m.Op + `"` + m.Value + `"}`
}

// promResult is the answer of Prometheus's /api/v1/query.
type promResult struct {
	Status string
	Error  string
	Data   struct {
		Result []struct {
			Metric map[string]string
			Value  [2]any
		}
	}
}

// promQuery runs an instant query on the Prometheus at base; an error is
// Prometheus refusing it.
func promQuery(hc *http.Client, base, q string) (promResult, error) {
	var r promResult
	resp, err := hc.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("%d: %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return r, fmt.Errorf("%d %s: %s", resp.StatusCode, r.Status, r.Error)
	}
	return r, nil
}

// series is one exported series: its name and labels.
type series struct {
	name   string
	labels map[string]string
}

// scrapeSeries scrapes endpoint and returns the series it exports, a
// histogram's as its _bucket, _sum and _count.
func scrapeSeries(t *testing.T, hc *http.Client, endpoint string) []series {
	t.Helper()
	r, err := hc.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", endpoint, r.StatusCode, err)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
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
