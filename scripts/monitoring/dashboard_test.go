package monitoring

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

const dashboardFile = "grafana/flashsale.json"

// TestDashboardQueriesParse reads every panel's query as Prometheus would
// and finds each of the panels an operator needs, on the metrics that
// carry it.
func TestDashboardQueriesParse(t *testing.T) {
	qs, err := Queries(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) == 0 {
		t.Fatal("no query in the dashboard")
	}
	named := map[string]bool{}
	for _, q := range qs {
		ms, err := q.Metrics()
		if err != nil {
			t.Errorf("panel %q: %v", q.Panel, err)
			continue
		}
		if len(ms) == 0 {
			t.Errorf("panel %q: %q selects no metric", q.Panel, q.Expr)
		}
		for _, m := range ms {
			named[m] = true
		}
	}
	for _, m := range []string{
		"flashsale_buys_total", "flashsale_gate_rejections_total",
		"flashsale_lua_seconds_bucket", "flashsale_dtm_call_seconds_bucket",
		"orders_settlement_lag_seconds_bucket", "flashsale_stock_remaining_units",
		"dtm_server_process_total", "dtm_branch_process_total",
		"flashsale_repairs_total", "orders_repairs_total",
	} {
		if !named[m] {
			t.Errorf("no panel reads %s", m)
		}
	}
}

// TestDashboardDatasource checks that every panel and query takes its
// Prometheus from the dashboard's datasource variable, so that the
// dashboard imports into any Grafana.
func TestDashboardDatasource(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type ds struct{ Type, UID string }
	var d struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			Title      string
			Datasource ds
			Targets    []struct{ Datasource ds }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d; want a current one (>= 36)", d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct{ Name, Type, Query string }) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("no datasource variable of type prometheus named datasource")
	}
	want := ds{"prometheus", "${datasource}"}
	for _, p := range d.Panels {
		if p.Datasource != want {
			t.Errorf("panel %q: datasource %+v; want %+v", p.Title, p.Datasource, want)
		}
		for _, q := range p.Targets {
			if q.Datasource != want {
				t.Errorf("panel %q: a query's datasource %+v; want %+v", p.Title, q.Datasource, want)
			}
		}
	}
}

// TestMetrics checks the parser on queries it must read, and on broken
// ones it must refuse.
func TestMetrics(t *testing.T) {
	for q, want := range map[string][]string{
		`up`: {"up"},
		`sum by (le) (rate(a_bucket{x="1", y=~"b|c"}[5m]))`:               {"a_bucket"},
		`histogram_quantile(0.99, sum(rate(a_bucket[1m])) by (le, call))`: {"a_bucket"},
		`sum(a) - on (g) group_left (h) sum(b) / 2`:                       {"a", "b"},
		`topk(3, max_over_time(a[1h:5m])) > bool 0`:                       {"a"},
		`{__name__="a", job="x"} offset 5m or b unless -c`:                {"a", "b", "c"},
		`rate(a[1m]) and increase(a[1h30m])`:                              {"a"},
	} {
		got, err := Metrics(q)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Metrics(%q) = %v, %v; want %v", q, got, err, want)
		}
	}
	for _, q := range []string{
		`sum(rate(a[5m])`,           // unbalanced
		`rate(a[5m]))`,              // trailing
		`rate(a[5])`,                // a duration without unit
		`sum by (le (a)`,            // a grouping unclosed
		`a{x="1"`,                   // matchers unclosed
		`a{x 1}`,                    // no operator
		`histogram_quantil(0.5, a)`, // unknown function
		`a{x="1}`,                   // string unterminated
		`sum(a) -`,                  // missing operand
		`$__rate_interval`,          // a variable left
		`sum({job="x"})`,            // no metric named
	} {
		if ms, err := Metrics(q); err == nil {
			t.Errorf("Metrics(%q) = %v; want an error", q, ms)
		}
	}
}

// TestSelectors checks the matchers the parser reads, and how a series'
// labels pass them.
func TestSelectors(t *testing.T) {
	sels, err := Selectors(`sum(rate(a{x="1", y=~'b|c', z!="q\"r"}[1m])) - {__name__="d", w!~"e.*"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Selector{
		{"a", []Matcher{{"x", "=", "1"}, {"y", "=~", "b|c"}, {"z", "!=", `q"r`}}},
		{"d", []Matcher{{"w", "!~", "e.*"}}},
	}
	if len(sels) != len(want) {
		t.Fatalf("Selectors = %+v; want %+v", sels, want)
	}
	for i := range want {
		if sels[i].Metric != want[i].Metric || !slices.Equal(sels[i].Matchers, want[i].Matchers) {
			t.Errorf("selector %d = %+v; want %+v", i, sels[i], want[i])
		}
	}
	for _, c := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"x": "1", "y": "c", "z": "q"}, true},
		{map[string]string{"x": "1", "y": "bc", "z": "q"}, false}, // a regexp matches the whole value
		{map[string]string{"x": "2", "y": "b"}, false},
		{map[string]string{"x": "1", "y": "b", "z": `q"r`}, false},
	} {
		if got := sels[0].Matches(c.labels); got != c.want {
			t.Errorf("%+v passes %v: %v; want %v", sels[0], c.labels, got, c.want)
		}
	}
	if sels[1].Matches(map[string]string{"w": "eh"}) || !sels[1].Matches(map[string]string{"w": "he"}) {
		t.Errorf("%+v: !~ does not refuse what matches, or refuses what does not", sels[1])
	}
}
