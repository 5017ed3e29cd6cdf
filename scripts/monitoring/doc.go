// Package monitoring holds the assets that watch the services in
// production, kept beside the code they watch and mounted by
// docker-compose's monitoring profile: Prometheus's scrape configuration
// (prometheus/prometheus.yml), its alerting and recording rules
// (prometheus/rules.yml) and their unit tests in promtool's format
// (prometheus/rules_test.yml), and Grafana's provisioning and flash-sale
// dashboard (grafana/). Its tests run promtool on the rules, check that
// every alert has a runbook in docs/operations.md, and read every query of
// the dashboard with a parser of the PromQL it uses (promql.go), which
// returns the selectors the live test in tests/ looks for.
package monitoring
