package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helmSecretArgs are the secrets the renders are given, as --set
// arguments, and their values (which no literal of the render may hold).
var helmSecretArgs, helmSecretValues = func() ([]string, []string) {
	kv := [][2]string{
		{"secrets.jwtSecret", "jwt-secret-of-the-render-test"},
		{"secrets.adminToken", "admin-token-of-the-render-test"},
		{"secrets.internalKey", "internal-key-of-the-render-test-0123456789"},
		{"secrets.mysqlPassword", "mysql-password-of-the-render-test"},
		{"secrets.redisPassword", "redis-password-of-the-render-test"},
		{"secrets.dtmStorePassword", "dtm-store-password-of-the-render-test"},
	}
	var args, values []string
	for _, p := range kv {
		args = append(args, "--set", p[0]+"="+p[1])
		values = append(values, p[1])
	}
	return args, values
}()

// helmScaled is a larger layout than the defaults: three dtm groups (one
// of two servers, one on another store), three flashsale instances and
// order services, the secrets in an existing Secret, the Redis passwords
// from it, other nodes and image, and NetworkPolicy peers from outside.
const helmScaled = `
image: {repository: registry.example.com/shop/flashsale, tag: "1.2.3"}
redis:
  nodes: [stock-0.redis:6379, stock-1.redis:6379, stock-2.redis:6379]
  passwordFromSecret: true
secrets:
  existingSecret: shop-secrets
flashsale:
  replicas: 3
  trustedProxies: [10.0.0.0/8, 192.168.1.10]
  extraEnv:
    - {name: FLASHSALE_RATE_PER_USER, value: "10"}
  autoscaling: {maxReplicas: 9}
orders:
  replicas: 3
  extraEnv:
    - {name: PAYMENT_SIMULATE, value: ok}
dtm:
  groups:
    - {name: g0, storePrefix: "{dtm-g0}"}
    - {name: g1, storePrefix: "{dtm-g1}", replicas: 2}
    - {name: g2, storePrefix: "{dtm-g2}", storeRedis: "dtm-redis-2.stores:6379"}
  storeRedis: dtm-redis-1.stores:6379
  storePasswordFromSecret: true
networkPolicy:
  adminFrom:
    - ipBlock: {cidr: 10.20.0.0/16}
  metricsFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
      podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
`

// helmFixed is a fixed-size layout: no autoscaler, no NetworkPolicies, one
// order service, the stock's Redis password in the chart's Secret.
const helmFixed = `
redis: {passwordFromSecret: true}
flashsale:
  autoscaling: {enabled: false}
  trustedProxies: [10.1.2.3]
orders: {replicas: 1}
networkPolicy: {enabled: false}
`

// helmValuesFile writes values for helm -f into the test's directory.
func helmValuesFile(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestHelmChart renders scripts/helm/flashsale (the Helm chart of the
// scale-out layout) with its defaults and with two other sets of values,
// reads every manifest strictly into the Kubernetes API's types, and checks
// it against docker-compose.yml's cluster profile: each program's
// environment variables (names, the listen addresses' values, the shape
// of DTM_SERVER and REDIS_ADDR), container ports and probes; secrets only
// from secretKeyRefs; Services, PodDisruptionBudgets and the autoscaler
// aimed at the right pods; and the NetworkPolicies' reach, port by port.
func TestHelmChart(t *testing.T) {
	helm := helmFind(t)
	if out, err := exec.Command(helm, "version", "--short").Output(); err == nil {
		t.Logf("helm %s (pinned: %s)", strings.TrimSpace(string(out)), helmVersion)
	}
	compose := loadCompose(t, filepath.Join("..", "docker-compose.yml"))

	t.Run("Lint", func(t *testing.T) {
		out, err := exec.Command(helm, "lint", "--strict", helmChartDir).CombinedOutput()
		if err != nil {
			t.Errorf("helm lint --strict: %v\n%s", err, out)
		}
	})

	for _, tc := range []struct{ name, values string }{
		{"Defaults", ""},
		{"Scaled", helmScaled},
		{"Fixed", helmFixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := helmSecretArgs
			var overrides []string
			if tc.values != "" {
				args = append([]string{"-f", helmValuesFile(t, tc.values)}, args...)
				overrides = append(overrides, tc.values)
			}
			v, err := helmLoadValues(overrides...)
			if err != nil {
				t.Fatal(err)
			}
			out, err := helmTemplate(helm, helmChartDir, args...)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := helmDecode(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range helmCheckRender(compose, v, objs, helmSecretValues) {
				t.Error(p)
			}
		})
	}
}

// TestHelmChartRefuses: values that would break the layout fail the
// render, with a message that says which.
func TestHelmChartRefuses(t *testing.T) {
	helm := helmFind(t)
	for _, tc := range []struct {
		name, values, want string
		noSecrets          bool
	}{
		{"NoSecrets", "", "secrets.jwtSecret is required", true},
		{"ShortInternalKey", "secrets: {internalKey: too-short}", "secrets.internalKey: at least 32 bytes", false},
		{"SharedPrefix", "dtm: {groups: [{name: a, storePrefix: '{dtm}'}, {name: b, storePrefix: '{dtm}'}]}", "two groups on the store prefix", false},
		{"PrefixNoHashTag", "dtm: {groups: [{name: a, storePrefix: dtm-a}]}", "is not a hash tag", false},
		{"GroupName", "dtm: {groups: [{name: G_0, storePrefix: '{dtm-g0}'}]}", "is not a DNS label", false},
		{"NoGroups", "dtm: {groups: []}", "at least one dtm group", false},
		{"RedisPassword", "redis: {passwordFromSecret: true}\nsecrets: {redisPassword: ''}", "secrets.redisPassword is required", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.values != "" {
				args = append(args, "-f", helmValuesFile(t, tc.values))
			}
			if !tc.noSecrets {
				// --set wins over -f: give only the secrets the case
				// does not set itself.
				for i := 0; i < len(helmSecretArgs); i += 2 {
					key, _, _ := strings.Cut(helmSecretArgs[i+1], "=")
					if !strings.Contains(tc.values, strings.TrimPrefix(key, "secrets.")+":") {
						args = append(args, helmSecretArgs[i], helmSecretArgs[i+1])
					}
				}
			}
			_, err := helmTemplate(helm, helmChartDir, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template: %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
