package monitoring

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/internal/testenv"
	"gopkg.in/yaml.v3"
)

const (
	rulesFile = "prometheus/rules.yml"
	testsFile = "prometheus/rules_test.yml"
	runbooks  = "../../docs/operations.md"
)

// TestPromtool checks the rules and runs their unit tests as Prometheus
// does, with promtool (Debian's prometheus package; CI installs it).
func TestPromtool(t *testing.T) {
	promtool := testenv.Program(t, "promtool", "checking the alerting rules")
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", testsFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// alert is an alerting rule as rules.yml writes it.
type alert struct {
	Alert       string            `yaml:"alert"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// TestEveryAlertHasARunbookAndATest: every alert has a severity, a
// summary, a description and a runbook_url naming a section of
// docs/operations.md, and rules_test.yml tests it.
func TestEveryAlertHasARunbookAndATest(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []alert `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(read(t, rulesFile), &rules); err != nil {
		t.Fatal(err)
	}
	anchors := headingAnchors(string(read(t, runbooks)))
	tests := string(read(t, testsFile))
	n := 0
	for _, g := range rules.Groups {
		for _, a := range g.Rules {
			if a.Alert == "" {
				continue // a recording rule
			}
			n++
			if s := a.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", a.Alert, s)
			}
			for _, k := range []string{"summary", "description"} {
				if a.Annotations[k] == "" {
					t.Errorf("%s: no %s", a.Alert, k)
				}
			}
			url := a.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, "docs/operations.md#")
			if !ok || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q names no section of docs/operations.md", a.Alert, url)
			}
			if !strings.Contains(tests, "alertname: "+a.Alert+"\n") {
				t.Errorf("%s: not tested in %s", a.Alert, testsFile)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no alert in %s", rulesFile)
	}
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown document (outside its code blocks): lower case, punctuation
// dropped, spaces to hyphens.
func headingAnchors(doc string) map[string]bool {
	drop := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	out := map[string]bool{}
	code := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			code = !code
		}
		if h, ok := strings.CutPrefix(line, "#"); ok && !code {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return out
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
