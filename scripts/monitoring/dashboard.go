package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Query is one query of a dashboard's panel.
type Query struct {
	Panel string // the panel's title
	Expr  string // PromQL, Grafana's variables as written
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// Queries returns every query of the Grafana dashboard in file, rows'
// panels included.
func Queries(file string) ([]Query, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Panel: p.Title, Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

// grafanaRanges are the interval variables Grafana fills in before a query
// reaches Prometheus, and a value of the same form.
var grafanaRanges = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "1h")

// Expand returns the query as Prometheus receives it: Grafana's interval
// variables replaced by durations.
func (q Query) Expand() string { return grafanaRanges.Replace(q.Expr) }

// Metrics parses the query, expanded, and returns the metrics it names.
func (q Query) Metrics() ([]string, error) { return Metrics(q.Expand()) }

// Selectors parses the query, expanded, and returns its vector selectors.
func (q Query) Selectors() ([]Selector, error) { return Selectors(q.Expand()) }
