package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/flashsale/flashsale/internal/testenv"
)

// scrapeTarget is one endpoint Prometheus scrapes in the monitoring
// profile (scripts/monitoring/prometheus/prometheus.yml), here on the
// stack's ports.
type scrapeTarget struct {
	job, addr, path, labels string
}

// scrapeTargets are the stack's flashsale (admin listener), order service
// and dtm server, as the monitoring profile's jobs name them.
func scrapeTargets(s *stack) []scrapeTarget {
	return []scrapeTarget{
		{"flashsale", fmt.Sprintf("127.0.0.1:%d", s.admin), "/metrics", ""},
		{"orders", fmt.Sprintf("127.0.0.1:%d", s.ordersPort), "/metrics", ""},
		{"dtm", fmt.Sprintf("127.0.0.1:%d", s.dtmPort), "/api/metrics", `{group: "dtm"}`},
	}
}

// startPrometheus starts a real Prometheus scraping and evaluating every
// second, on the targets and with the rule files given (absolute paths),
// waits until it sees every target up, and returns its base URL. It
// stops Prometheus when t ends. The test is skipped without a prometheus
// program, unless CI=true; why says what it needs Prometheus for.
func startPrometheus(t *testing.T, hc *http.Client, why string, targets []scrapeTarget, ruleFiles ...string) string {
	t.Helper()
	bin := testenv.Program(t, "prometheus", why)
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global: {scrape_interval: 1s, evaluation_interval: 1s}\n")
	if len(ruleFiles) > 0 {
		cfg.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			fmt.Fprintf(&cfg, "  - %q\n", f)
		}
	}
	cfg.WriteString("scrape_configs:\n")
	for _, tg := range targets {
		labels := ""
		if tg.labels != "" {
			labels = ", labels: " + tg.labels
		}
		fmt.Fprintf(&cfg, "  - {job_name: %s, metrics_path: %s, static_configs: [{targets: [%q]%s}]}\n", tg.job, tg.path, tg.addr, labels)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	p := &proc.Process{Name: "prometheus", Path: bin, Log: filepath.Join(dir, "prometheus.log"), Ready: proc.HTTP(base + "/-/ready"),
		Args: []string{"--config.file=" + filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + strings.TrimPrefix(base, "http://")}}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("---- prometheus log ----\n%s", p.Tail(3000))
		}
	})
	startProc(t, p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := promQuery(hc, base, "count(up == 1)")
		if err == nil && len(r.Data.Result) == 1 && r.Data.Result[0].Value[1] == strconv.Itoa(len(targets)) {
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus does not see the %d targets up: %+v %v", len(targets), r, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// promAlerts returns the state ("pending" or "firing") of each active
// alert of the Prometheus at base, by alert name, as its /api/v1/alerts
// answers; an alert that is not active is not in the map.
func promAlerts(hc *http.Client, base string) (map[string]string, error) {
	resp, err := hc.Get(base + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Alerts []struct {
				Labels map[string]string
				State  string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%d: %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%d %s: %s", resp.StatusCode, r.Status, r.Error)
	}
	states := map[string]string{}
	for _, a := range r.Data.Alerts {
		name := a.Labels["alertname"]
		if states[name] != "firing" {
			states[name] = a.State
		}
	}
	return states, nil
}
