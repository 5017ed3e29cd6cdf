package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// helmBreaks are small mistakes in the chart's templates, each of which
// the render test must catch: the file, the text and what replaces it.
var helmBreaks = []struct{ name, file, old, new string }{
	{"EnvDropped", "flashsale-deployment.yaml",
		"            - name: FLASHSALE_TRUSTED_PROXIES\n              value: {{ .Values.flashsale.trustedProxies | join \",\" | quote }}\n", ""},
	{"SecretLiteral", "flashsale-deployment.yaml",
		`{{- include "flashsale.secretEnv" (dict "root" . "name" "FLASHSALE_ADMIN_TOKEN" "key" "admin-token") | nindent 12 }}`,
		"- name: FLASHSALE_ADMIN_TOKEN\n              value: {{ .Values.secrets.adminToken | quote }}"},
	{"PDBLabel", "pdb.yaml", `(dict "root" . "component" "orders") | nindent 6`, `(dict "root" . "component" "order") | nindent 6`},
	{"ServiceAllGroups", "dtm.yaml", "  selector:\n    {{- include \"flashsale.groupSelector\" $sel | nindent 4 }}",
		"  selector:\n    {{- include \"flashsale.selector\" (dict \"root\" $ \"component\" \"dtm\") | nindent 4 }}"},
	{"ReadinessPath", "orders.yaml", `"ready" "/readyz" "live" "/healthz"`, `"ready" "/healthz" "live" "/healthz"`},
	{"GRPCPortPolicy", "networkpolicies.yaml", "- port: 36790", "- port: 36791"},
	{"InternalOpenToFlashsale", "networkpolicies.yaml", "toYaml (list $dtm $orders)", "toYaml (list $dtm $orders $flashsale)"},
	{"GroupLeftOut", "_helpers.tpl", `{{- join "," $urls -}}`, `{{- join "," (initial $urls) -}}`},
	{"HPATarget", "flashsale-hpa.yaml", "-flashsale\n  minReplicas", "-orders\n  minReplicas"},
	{"PortDropped", "dtm.yaml", "            - name: grpc\n              containerPort: 36790\n", ""},
	{"UnknownField", "orders.yaml", "  replicas: {{ .Values.orders.replicas }}\n", "  replicas: {{ .Values.orders.replicas }}\n  minReadySecond: 5\n"},
	{"StoreOnStock", "dtm.yaml", `- {{ $g.storeRedis | default $.Values.dtm.storeRedis | quote }}`, `- {{ index $.Values.redis.nodes 0 | quote }}`},
}

// TestHelmChartBroken breaks a copy of the chart in each of helmBreaks'
// ways and checks that the render test then fails: its checks can fail.
func TestHelmChartBroken(t *testing.T) {
	helm := helmFind(t)
	compose := loadCompose(t, filepath.Join("..", "docker-compose.yml"))
	v, err := helmLoadValues()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range helmBreaks {
		t.Run(b.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "flashsale")
			if err := os.CopyFS(dir, os.DirFS(helmChartDir)); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "templates", b.file)
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(src), b.old); n != 1 {
				t.Fatalf("%s holds %q %d times; want once (update helmBreaks with the chart)", b.file, b.old, n)
			}
			if err := os.WriteFile(file, []byte(strings.Replace(string(src), b.old, b.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := helmTemplate(helm, dir, helmSecretArgs...)
			if err != nil {
				t.Logf("caught: %v", err)
				return
			}
			objs, err := helmDecode(out)
			if err != nil {
				t.Logf("caught: %v", err)
				return
			}
			problems := helmCheckRender(compose, v, objs, helmSecretValues)
			if len(problems) == 0 {
				t.Fatal("the broken chart passes the render test's checks")
			}
			t.Logf("caught: %s", strings.Join(problems, "\n\t"))
		})
	}
}
