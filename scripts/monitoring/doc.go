// Package monitoring holds the assets that watch the services in
// production, kept beside the code they watch: Prometheus's alerting and
// recording rules (prometheus/rules.yml) and their unit tests in
// promtool's format (prometheus/rules_test.yml). Its tests run promtool on
// them and check that every alert has a runbook in docs/operations.md.
package monitoring
