package tests

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeScrape is, per binary, the listener whose metrics Prometheus
// scrapes: the variable or flag naming its port, and the path served.
var composeScrape = map[string]struct{ port, path string }{
	"flashsale": {"FLASHSALE_ADMIN_ADDR", "/metrics"},
	"orders":    {"ORDERS_ADDR", "/metrics"},
	"dtm":       {"-http-port", "/api/metrics"},
}

// TestDockerComposeMonitoring checks docker-compose.yml's monitoring
// profile the way a user would read it before `docker compose --profile
// monitoring up`: what Prometheus and Grafana mount is in the repository,
// Prometheus scrapes every service of the services mode at the port and
// path it serves its metrics on, and Grafana reads that Prometheus and the
// dashboard mounted for it. The general checks of TestDockerCompose
// (healthchecks, waits, published ports) cover these services too.
func TestDockerComposeMonitoring(t *testing.T) {
	c := loadCompose(t, filepath.Join("..", "docker-compose.yml"))
	for _, name := range []string{"prometheus", "grafana"} {
		if s, ok := c.Services[name]; !ok || !slices.Equal(s.Profiles, []string{"monitoring"}) {
			t.Fatalf("%s: want a service in the monitoring profile alone", name)
		}
	}

	t.Run("Mounts", func(t *testing.T) {
		for _, name := range c.names() {
			for _, m := range c.Services[name].mounts() {
				if _, err := os.Stat(filepath.Join("..", m.source)); err != nil {
					t.Errorf("%s: mounts %s, which is not in the repository: %v", name, m.source, err)
				}
			}
		}
	})

	prom := c.Services["prometheus"]
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readMounted(t, prom, prom.flag("--config.file"), &cfg)

	t.Run("RuleFiles", func(t *testing.T) {
		if len(cfg.RuleFiles) == 0 {
			t.Error("prometheus reads no rule file")
		}
		for _, f := range cfg.RuleFiles {
			if !path.IsAbs(f) { // read from the configuration's directory
				f = path.Join(path.Dir(prom.flag("--config.file")), f)
			}
			if prom.hostPath(f) == "" {
				t.Errorf("rule file %s is outside what prometheus mounts", f)
			}
		}
	})

	t.Run("Targets", func(t *testing.T) {
		scraped := map[string]bool{}
		for _, sc := range cfg.ScrapeConfigs {
			metricsPath := sc.MetricsPath
			if metricsPath == "" {
				metricsPath = "/metrics"
			}
			for _, st := range sc.StaticConfigs {
				for _, target := range st.Targets {
					host, port, err := net.SplitHostPort(target)
					s, ok := c.Services[host]
					if err != nil || !ok {
						t.Errorf("job %s: target %q is no service of the file", sc.JobName, target)
						continue
					}
					want, ok := composeScrape[s.binary()]
					if !ok {
						t.Errorf("job %s: target %s runs %q, which serves no metrics of ours", sc.JobName, target, s.binary())
						continue
					}
					if got := s.port(want.port); port != got || metricsPath != want.path {
						t.Errorf("job %s: scrapes %s%s; %s serves its metrics at port %s (%s), path %s", sc.JobName, target, metricsPath, host, got, want.port, want.path)
					}
					if s.binary() == "dtm" && st.Labels["group"] == "" {
						t.Errorf("job %s: target %s has no group label; the dashboard reads dtm by group", sc.JobName, target)
					}
					scraped[host] = true
				}
			}
		}
		for _, name := range c.names() {
			s := c.Services[name]
			if _, ok := composeScrape[s.binary()]; ok && len(s.Profiles) == 0 && !scraped[name] {
				t.Errorf("%s: prometheus does not scrape it", name)
			}
		}
	})

	t.Run("Grafana", func(t *testing.T) {
		g := c.Services["grafana"]
		if g.DependsOn["prometheus"] != "service_healthy" {
			t.Error("grafana does not wait for prometheus")
		}
		var ds struct {
			Datasources []struct{ Type, URL string }
		}
		readMounted(t, g, "/etc/grafana/provisioning/datasources/prometheus.yml", &ds)
		_, port, _ := net.SplitHostPort(prom.flag("--web.listen-address"))
		if want := "http://prometheus:" + port; len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != want {
			t.Errorf("grafana's datasources %+v; want one of type prometheus at %s", ds.Datasources, want)
		}
		var dash struct {
			Providers []struct {
				Options struct{ Path string }
			}
		}
		readMounted(t, g, "/etc/grafana/provisioning/dashboards/flashsale.yml", &dash)
		if len(dash.Providers) != 1 {
			t.Fatalf("dashboard providers %+v; want one", dash.Providers)
		}
		dir := dash.Providers[0].Options.Path
		if host := g.hostPath(path.Join(dir, "flashsale.json")); host != "scripts/monitoring/grafana/flashsale.json" {
			t.Errorf("grafana's dashboard folder %s holds %q; want the repository's dashboard, scripts/monitoring/grafana/flashsale.json", dir, host)
		}
	})
}

// composeMount is one bind mount: a path of the repository, and where the
// container sees it.
type composeMount struct{ source, target string }

// mounts returns the service's bind mounts of the repository's files.
func (s composeService) mounts() []composeMount {
	var out []composeMount
	for _, v := range s.Volumes {
		f := strings.Split(v, ":")
		if len(f) >= 2 && strings.HasPrefix(f[0], ".") {
			out = append(out, composeMount{path.Clean(f[0]), f[1]})
		}
	}
	return out
}

// hostPath returns the repository's path of what the container sees at
// p, "" when no bind mount covers it.
func (s composeService) hostPath(p string) string {
	for _, m := range s.mounts() {
		if rest, ok := strings.CutPrefix(p, m.target); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			return path.Join(m.source, rest)
		}
	}
	return ""
}

// port returns the port of the service's listener named by key: a
// variable of its environment or a flag of its command.
func (s composeService) port(key string) string {
	if strings.HasPrefix(key, "-") {
		return s.flag(key)
	}
	_, p, _ := net.SplitHostPort(composeInterpolate(s.Environment[key]))
	return p
}

// readMounted decodes the YAML file the service sees at p, from the
// repository, or fails t.
func readMounted(t *testing.T, s composeService, p string, v any) {
	t.Helper()
	host := s.hostPath(p)
	if host == "" {
		t.Fatalf("%s: no bind mount covers it", p)
	}
	b, err := os.ReadFile(filepath.Join("..", host))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", host, err)
	}
}
